// Package token issues and verifies tokens: expiring access tokens acquired
// with a password and sent as X-Auth-Token or Authorization: Bearer (xCAT),
// and personal access tokens that are named, optionally expiring, revocable,
// shown once and accepted as the HTTP Basic password (Satellite/Foreman).
//
// Opaque tokens look like gate_at_… and gate_pat_… (see generate): 256
// random bits and a checksum; only a keyed hash of them is stored, so a
// leaked database yields no usable token. Access tokens can instead be JWTs
// (see JWT), signed with rotating keys and revocable by jti.
//
// Every verification asks the store, so a revocation or a disabled user
// takes effect on the next request, on every replica that shares the store.
package token

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/certbind"
	"github.com/gatehouse/gatehouse/internal/envx"
	"github.com/gatehouse/gatehouse/internal/httpx"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/memo"
)

// Never, as Config.AccessTTL, makes access tokens that never expire (xCAT's
// tokenexpiredays=never).
const Never time.Duration = -1

// defaultAccessTTL is xCAT's default token validity: one day.
const defaultAccessTTL = 24 * time.Hour

// Config configures a Service.
type Config struct {
	Store stores.TokenKeeper // required
	Users stores.UserStore   // required: a token stops working when its user is disabled or deleted
	// HashKey keys the hash under which secrets are stored (HMAC-SHA256).
	// Every replica must use the same key. Empty means plain SHA-256, which
	// is also safe for 256-bit random secrets; a key adds that a stolen
	// database cannot even be matched against a stolen token.
	HashKey []byte
	// AccessTTL is the validity of access tokens: 0 = defaultAccessTTL,
	// Never = no expiry (see preset.ParseExpireDays for xCAT's setting).
	AccessTTL time.Duration
	// JWT, when set, makes access tokens JWTs signed with its keys.
	JWT *JWT
	// TouchInterval is how often last-used times are written to the store
	// (coalesced: at most one batch per interval); default one minute.
	TouchInterval time.Duration
	// PasswordChangeRevokes lists the token kinds that a password change
	// revokes: a token of such a kind whose PasswordStamp differs from the
	// user's PasswordChanged is refused. nil means
	// defaultPasswordChangeRevokes; an empty non-nil slice revokes none.
	PasswordChangeRevokes []string
	// Env is the service's shared settings (auth.Env): its clock.
	Env auth.Env
}

// defaultPasswordChangeRevokes: a password change ends access, JWT and
// refresh tokens; personal access tokens survive it, as in Foreman.
var defaultPasswordChangeRevokes = []string{stores.TokenAccess, stores.TokenJWT, stores.TokenRefresh}

// Service issues, verifies, lists and revokes tokens.
type Service struct {
	cfg  Config
	pool sync.Pool // *hashState

	// lastUsed holds each token's pending last-used time (token id →
	// *atomic.Pointer[time.Time]; nil = nothing pending) until Flush writes
	// them. A request that finds a time less than lastUsedResolution older
	// writes nothing, so that concurrent requests with one token only read
	// shared memory: a lock per token (or per shard) made them queue.
	lastUsed  sync.Map
	lastFlush atomic.Int64 // unix ns of the last Flush

	// attrs shares one Identity.Attrs map among the requests of a token:
	// a map per request was a third of a verification's allocations.
	attrs *memo.Map[tokenAttrs, map[string]string]
}

// tokenAttrs is what a token's Identity.Attrs hold; neither changes for a
// token id.
type tokenAttrs struct{ id, thumbprint string }

// lastUsedResolution is how precisely a token's last use is recorded: a
// use within this time after the pending one is not recorded again.
const lastUsedResolution = time.Second

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Store == nil || cfg.Users == nil {
		panic("token: Config needs Store and Users")
	}
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = defaultAccessTTL
	}
	if cfg.TouchInterval <= 0 {
		cfg.TouchInterval = time.Minute
	}
	cfg.Env.Now = envx.Clock(cfg.Env.Now)
	if cfg.PasswordChangeRevokes == nil {
		cfg.PasswordChangeRevokes = defaultPasswordChangeRevokes
	}
	if cfg.JWT != nil && cfg.AccessTTL == Never {
		panic("token: JWT access tokens must expire (AccessTTL Never is for opaque tokens)")
	}
	s := &Service{cfg: cfg, attrs: memo.New[tokenAttrs, map[string]string](4096)}
	key := cfg.HashKey
	s.pool.New = func() any {
		if len(key) == 0 {
			return &hashState{h: sha256.New()}
		}
		return &hashState{h: hmac.New(sha256.New, key)}
	}
	s.lastFlush.Store(cfg.Env.Now().UnixNano())
	return s
}

type hashState struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
	hex [2 * sha256.Size]byte
}

// hashSecret returns the hex keyed hash under which secret is stored.
func (s *Service) hashSecret(secret string) string {
	st := s.pool.Get().(*hashState)
	st.h.Reset()
	st.buf = append(st.buf[:0], secret...)
	st.h.Write(st.buf)
	clear(st.buf)
	hex.Encode(st.hex[:], st.h.Sum(st.sum[:0]))
	out := string(st.hex[:])
	s.pool.Put(st)
	return out
}

func newID() string { return rand.Text() }

// Issued is a newly made token: the secret, shown once, and its record.
type Issued struct {
	Secret string
	Token  stores.Token
}

// Grant says whom an OAuth 2 token is for beyond its user: the client it
// was issued to and the grant family it belongs to (see IssueGrant).
type Grant struct {
	ClientID string
	Family   string
	// CertThumbprint binds the tokens to the client certificate the grant
	// was made over (RFC 8705; see internal/certbind).
	CertThumbprint string
}

// IssueAccess makes an access token for the identity's user with scopes.
func (s *Service) IssueAccess(ctx context.Context, id *auth.Identity, scopes []string) (Issued, error) {
	return s.IssueAccessGrant(ctx, id, scopes, Grant{})
}

// owner looks up the identity's user, whose ID the token is bound to.
func (s *Service) owner(ctx context.Context, login string) (*stores.User, error) {
	u, err := s.cfg.Users.User(ctx, login)
	if err != nil {
		return nil, fmt.Errorf("token: user %q: %w", login, err)
	}
	return u, nil
}

// IssueAccessGrant makes an access token as IssueAccess does, recording the
// client and grant family (OAuth 2's token endpoint uses it).
func (s *Service) IssueAccessGrant(ctx context.Context, id *auth.Identity, scopes []string, g Grant) (Issued, error) {
	u, err := s.owner(ctx, id.Login())
	if err != nil {
		return Issued{}, err
	}
	now := s.cfg.Env.Now()
	t := stores.Token{ID: newID(), Kind: stores.TokenAccess, User: id.Login(), UserID: u.ID, PasswordStamp: u.PasswordChanged, ClientID: g.ClientID, Family: g.Family, Scopes: scopes, Created: now, CertThumbprint: g.CertThumbprint}
	if s.cfg.AccessTTL != Never {
		t.Expires = now.Add(s.cfg.AccessTTL)
	}
	if s.cfg.JWT != nil {
		t.Kind = stores.TokenJWT
		secret, err := s.cfg.JWT.sign(t)
		if err != nil {
			return Issued{}, err
		}
		if err := s.cfg.Store.CreateToken(ctx, t); err != nil {
			return Issued{}, fmt.Errorf("token: storing: %w", err)
		}
		return Issued{Secret: secret, Token: t}, nil
	}
	return s.create(ctx, PrefixAccess, t)
}

func (s *Service) create(ctx context.Context, prefix string, t stores.Token) (Issued, error) {
	secret, err := generate(prefix)
	if err != nil {
		return Issued{}, err
	}
	t.Hash = s.hashSecret(secret)
	if err := s.cfg.Store.CreateToken(ctx, t); err != nil {
		if errors.Is(err, stores.ErrConflict) {
			return Issued{}, err
		}
		return Issued{}, fmt.Errorf("token: storing: %w", err)
	}
	return Issued{Secret: secret, Token: t}, nil
}

// defaultRefreshTTL is how long an unused refresh token stays valid.
const defaultRefreshTTL = 30 * 24 * time.Hour

// IssueRefresh makes a refresh token for the identity's user with scopes,
// valid for ttl (0 = 30 days), for the grant's client and family.
// It can be used once (see Rotate).
func (s *Service) IssueRefresh(ctx context.Context, id *auth.Identity, scopes []string, ttl time.Duration, g Grant) (Issued, error) {
	if ttl <= 0 {
		ttl = defaultRefreshTTL
	}
	u, err := s.owner(ctx, id.Login())
	if err != nil {
		return Issued{}, err
	}
	now := s.cfg.Env.Now()
	return s.create(ctx, PrefixRefresh, stores.Token{ID: newID(), Kind: stores.TokenRefresh, User: id.Login(), UserID: u.ID, PasswordStamp: u.PasswordChanged,
		ClientID: g.ClientID, Family: g.Family, Scopes: scopes, Created: now, Expires: now.Add(ttl), CertThumbprint: g.CertThumbprint})
}

// Rotate verifies a refresh token presented by clientID ("" when clients
// are not authenticated) and revokes it, so that it is used at most once;
// the caller then issues a new access token and refresh token in the
// returned Grant's family. It returns the Identity the refresh token stood
// for, with its scopes.
//
// A refresh token issued to another client is refused. A refresh token
// used a second time means it was stolen (by the first or the second
// user): every token of its family is revoked (RFC 9700 §4.14.2).
func (s *Service) Rotate(ctx context.Context, refresh, clientID string) (*auth.Identity, Grant, error) {
	id, err := s.Verify(ctx, refresh, PrefixRefresh, auth.SchemeOAuth2)
	if err != nil {
		var e *auth.Error
		if errors.As(err, &e) && e.Reason == auth.ReasonRevoked {
			// A used (revoked) refresh token presented again: end its family.
			if t, terr := s.cfg.Store.TokenByHash(ctx, s.hashSecret(refresh)); terr == nil && t.Kind == stores.TokenRefresh {
				_, _ = s.cfg.Store.RevokeFamily(ctx, t.Family, s.cfg.Env.Now())
			}
		}
		return nil, Grant{}, err
	}
	t, err := s.cfg.Store.TokenByID(ctx, id.Attrs["token_id"])
	if err != nil {
		return nil, Grant{}, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: auth.SchemeOAuth2, Cause: err}
	}
	if t.ClientID != clientID {
		return nil, Grant{}, &auth.Error{Reason: auth.ReasonInvalid, Scheme: auth.SchemeOAuth2, User: id.Login(), Message: "refresh token was issued to another client"}
	}
	first, err := s.cfg.Store.ConsumeToken(ctx, t.ID, s.cfg.Env.Now())
	if err != nil {
		return nil, Grant{}, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: auth.SchemeOAuth2, Cause: err}
	}
	if !first { // lost a race with another use of the same token: reuse
		_, _ = s.cfg.Store.RevokeFamily(ctx, t.Family, s.cfg.Env.Now())
		return nil, Grant{}, &auth.Error{Reason: auth.ReasonRevoked, Scheme: auth.SchemeOAuth2, User: id.Login(), Message: "refresh token already used"}
	}
	g := Grant{ClientID: t.ClientID, Family: t.Family, CertThumbprint: t.CertThumbprint}
	if g.Family == "" {
		g.Family = newID()
	}
	return id, g, nil
}

// ErrBadName is returned by CreatePAT for an empty, overlong or unprintable
// name.
var ErrBadName = errors.New("token: a name must be 1–255 characters of printable UTF-8")

// PATSpec describes a personal access token to create.
type PATSpec struct {
	Login   string    // the owner ("name" or "name@domain"); must exist
	Name    string    // unique per user, 1–255 printable characters
	Expires time.Time // zero (noExpiry) = never
	Scopes  []string
}

// CreatePAT makes a personal access token as spec says. The returned
// Secret is the only copy: only its hash is stored. A name the user already
// has gives stores.ErrConflict.
func (s *Service) CreatePAT(ctx context.Context, spec PATSpec) (Issued, error) {
	login, name, expires, scopes := spec.Login, spec.Name, spec.Expires, spec.Scopes
	if name == "" || len(name) > 255 || !httpx.Printable(name) {
		return Issued{}, ErrBadName
	}
	now := s.cfg.Env.Now()
	if !expires.IsZero() && !expires.After(now) {
		return Issued{}, errors.New("token: expiry is in the past")
	}
	u, err := s.owner(ctx, login)
	if err != nil {
		return Issued{}, err
	}
	return s.create(ctx, PrefixPAT, stores.Token{ID: newID(), Kind: stores.TokenPAT, User: login, UserID: u.ID, PasswordStamp: u.PasswordChanged, Name: name,
		Scopes: scopes, Created: now, Expires: expires})
}

// List returns the user's tokens of kind ("" = all), never with secrets
// (only hashes are stored; the Hash field is cleared too). Pending last-used
// times are written first so the listing is current.
func (s *Service) List(ctx context.Context, login, kind string) ([]stores.Token, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	ts, err := s.cfg.Store.ListTokens(ctx, login, kind)
	for i := range ts {
		ts[i].Hash = ""
	}
	return ts, err
}

// Revoke revokes the token with id. When owner is not empty the token must
// belong to owner (else stores.ErrNotFound, so ids of others' tokens are not
// confirmed). Revocation takes effect on the next request.
func (s *Service) Revoke(ctx context.Context, owner, id string) error {
	if owner != "" {
		t, err := s.cfg.Store.TokenByID(ctx, id)
		if err != nil {
			return err
		}
		if t.User != owner {
			return stores.ErrNotFound
		}
	}
	return s.cfg.Store.RevokeToken(ctx, id, s.cfg.Env.Now())
}

// Lookup returns the stored record of a token secret this service issued —
// an access, refresh or personal access token, or a JWT (by its jti) —
// whatever its state (revoked, expired). stores.ErrNotFound for anything
// else, malformed secrets included.
func (s *Service) Lookup(ctx context.Context, secret string) (*stores.Token, error) {
	if s.cfg.JWT != nil && strings.Count(secret, ".") == 2 {
		jt, err := s.cfg.JWT.verify(secret, s.cfg.Env.Now()) // an expired JWT is dead already: not found
		if err != nil {
			return nil, stores.ErrNotFound
		}
		return s.cfg.Store.TokenByID(ctx, jt.ID)
	}
	if _, err := parse(secret); err != nil {
		return nil, stores.ErrNotFound
	}
	return s.cfg.Store.TokenByHash(ctx, s.hashSecret(secret))
}

// ErrOtherClient is returned by RevokeSecret for a token issued to another
// OAuth 2 client.
var ErrOtherClient = errors.New("token: issued to another client")

// RevokeSecret revokes the token whose secret a client presents (RFC
// 7009): a refresh token with every token of its grant. clientID, when not
// empty, must be the client the token was issued to (ErrOtherClient).
// Unknown secrets are stores.ErrNotFound.
func (s *Service) RevokeSecret(ctx context.Context, secret, clientID string) error {
	t, err := s.Lookup(ctx, secret)
	if err != nil {
		return err
	}
	// RFC 7009 §2.1: an authenticated client revokes only tokens issued
	// to it — not another client's, and not one issued to no client (a
	// PAT, a password-grant token without client_id).
	if clientID != "" && t.ClientID != clientID {
		return ErrOtherClient
	}
	now := s.cfg.Env.Now()
	if t.Kind == stores.TokenRefresh && t.Family != "" {
		_, err := s.cfg.Store.RevokeFamily(ctx, t.Family, now)
		return err
	}
	return s.cfg.Store.RevokeToken(ctx, t.ID, now)
}

// Verify checks secret and returns the Identity it proves. prefix limits
// which kinds are accepted (PrefixAccess also accepts JWTs when configured).
func (s *Service) Verify(ctx context.Context, secret, prefix, scheme string) (*auth.Identity, error) {
	fail := func(reason auth.Reason, msg string, cause error) (*auth.Identity, error) {
		return nil, &auth.Error{Reason: reason, Scheme: scheme, Message: msg, Cause: cause}
	}
	var t *stores.Token
	if s.cfg.JWT != nil && prefix == PrefixAccess && strings.Count(secret, ".") == 2 {
		jt, err := s.cfg.JWT.verify(secret, s.cfg.Env.Now())
		if err != nil {
			return fail(jwtReason(err), "invalid token", err)
		}
		// Only JWTs this service issued (and recorded) are accepted: a
		// signing key that leaked cannot mint tokens the store never saw.
		stored, err := s.cfg.Store.TokenByID(ctx, jt.ID)
		switch {
		case errors.Is(err, stores.ErrNotFound):
			return fail(auth.ReasonInvalid, "invalid token", errors.New("JWT with a jti this service never issued"))
		case err != nil:
			return nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: scheme, Cause: err}
		case stored.Kind != stores.TokenJWT || stored.User != jt.User:
			return fail(auth.ReasonInvalid, "invalid token", errors.New("JWT does not match its stored record"))
		case !stored.Revoked.IsZero():
			return fail(auth.ReasonRevoked, "token revoked", nil)
		}
		jt.UserID, jt.Created, jt.PasswordStamp, jt.CertThumbprint = stored.UserID, stored.Created, stored.PasswordStamp, stored.CertThumbprint
		t = &jt
	} else {
		got, err := parse(secret)
		if err != nil {
			if errors.Is(err, errChecksum) {
				return fail(auth.ReasonInvalid, "token checksum mismatch: the token was mistyped or altered", err)
			}
			return fail(auth.ReasonInvalid, "invalid token", err)
		}
		if got != prefix {
			return fail(auth.ReasonInvalid, "invalid token", errors.New("token of another kind"))
		}
		t, err = s.cfg.Store.TokenByHash(ctx, s.hashSecret(secret))
		if errors.Is(err, stores.ErrNotFound) {
			return fail(auth.ReasonInvalid, "invalid token", errors.New("unknown token"))
		}
		if err != nil {
			return nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: scheme, Cause: err}
		}
	}
	now := s.cfg.Env.Now()
	if !t.Revoked.IsZero() {
		return nil, &auth.Error{Reason: auth.ReasonRevoked, Scheme: scheme, User: t.User, Message: "token revoked"}
	}
	if t.Kind != stores.TokenJWT && !t.Expires.IsZero() && !now.Before(t.Expires) { // JWT: checked with leeway above
		return nil, &auth.Error{Reason: auth.ReasonExpired, Scheme: scheme, User: t.User, Message: "token expired"}
	}
	u, err := s.cfg.Users.User(ctx, t.User)
	if err != nil && !errors.Is(err, stores.ErrNotFound) {
		return nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: scheme, Cause: err}
	}
	if err != nil || u.Disabled {
		return nil, &auth.Error{Reason: auth.ReasonInvalid, Scheme: scheme, User: t.User, Message: "invalid token", Cause: errors.New("owner unknown or disabled")}
	}
	if t.UserID == "" || t.UserID != u.ID {
		// The login now names another account (deleted and created again).
		return nil, &auth.Error{Reason: auth.ReasonInvalid, Scheme: scheme, User: t.User, Message: "invalid token", Cause: errors.New("token belongs to an earlier account of that login")}
	}
	if passwordChangedSince(s.cfg.PasswordChangeRevokes, t, u) {
		return nil, &auth.Error{Reason: auth.ReasonRevoked, Scheme: scheme, User: t.User, Message: "token revoked: the password was changed"}
	}
	if t.Kind != stores.TokenJWT {
		s.touch(ctx, t.ID, now)
	}
	id := auth.UserIdentity(u, scheme)
	id.Scopes = t.Scopes
	id.Expires = t.Expires
	id.Attrs = s.attrs.Get(tokenAttrs{t.ID, t.CertThumbprint}, func() map[string]string {
		m := map[string]string{attrTokenID: t.ID}
		if t.CertThumbprint != "" {
			m[certbind.Attr] = t.CertThumbprint
		}
		return m
	})
	return id, nil
}

// attrTokenID is the Identity attribute naming the token that proved it.
const attrTokenID = "token_id"

// Active reports whether the token with id is still good at now for the
// account with userID: stored, of a verifiable kind, not revoked, not
// expired, still bound to that account and not ended by a password change.
// Sessions created from a token re-check it with this on every use.
func (s *Service) Active(ctx context.Context, id string, u *stores.User) (bool, error) {
	t, err := s.cfg.Store.TokenByID(ctx, id)
	if errors.Is(err, stores.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	now := s.cfg.Env.Now()
	return t.Active(now) && t.UserID != "" && t.UserID == u.ID && !passwordChangedSince(s.cfg.PasswordChangeRevokes, t, u), nil
}

// passwordChangedSince reports whether t is of a kind a password change
// revokes and the owner's password changed after t was issued. It compares
// stamps, not clocks, so replicas with skewed clocks agree.
func passwordChangedSince(kinds []string, t *stores.Token, u *stores.User) bool {
	return slices.Contains(kinds, t.Kind) && !t.PasswordStamp.Equal(u.PasswordChanged)
}

// touch records a use; the store sees it at the next Flush, which happens
// here at most once per TouchInterval.
func (s *Service) touch(ctx context.Context, id string, now time.Time) {
	s.recordUse(id, now)
	// A clock that stepped back must not stall the flush for as long as it
	// stepped: a lastFlush in the future is due at once.
	last := time.Unix(0, s.lastFlush.Load())
	if due := now.Sub(last) >= s.cfg.TouchInterval || now.Before(last); due {
		_ = s.Flush(ctx)
	}
}

// pendingUse is a token's pending last-used time.
type pendingUse = atomic.Pointer[time.Time]

// recordUse makes at the token's pending last-used time, unless the
// pending one is less than lastUsedResolution older.
func (s *Service) recordUse(id string, at time.Time) {
	v, ok := s.lastUsed.Load(id)
	if !ok {
		v, _ = s.lastUsed.LoadOrStore(id, new(pendingUse))
	}
	p := v.(*pendingUse)
	if old := p.Load(); old != nil && !at.Before(*old) && at.Sub(*old) < lastUsedResolution {
		return // recorded closely enough: no write to shared memory
	}
	rec := at // on the heap only when recorded
	p.Store(&rec)
	if cur, ok := s.lastUsed.Load(id); !ok || cur != v {
		// A Flush forgot this idle entry meanwhile: record on the new one.
		s.keepNewest(id, at)
	}
}

// keepNewest makes at the token's pending time unless a newer one is
// pending.
func (s *Service) keepNewest(id string, at time.Time) {
	v, _ := s.lastUsed.LoadOrStore(id, new(pendingUse))
	p := v.(*pendingUse)
	rec := at
	for {
		old := p.Load()
		if old != nil && !at.After(*old) {
			return
		}
		if p.CompareAndSwap(old, &rec) {
			return
		}
	}
}

// Flush writes pending last-used times to the store in one batch. Call it
// at shutdown; List calls it too.
func (s *Service) Flush(ctx context.Context) error {
	s.lastFlush.Store(s.cfg.Env.Now().UnixNano())
	batch := map[string]time.Time{}
	s.lastUsed.Range(func(k, v any) bool {
		if at := v.(*pendingUse).Swap(nil); at != nil {
			batch[k.(string)] = *at
		} else {
			s.lastUsed.CompareAndDelete(k, v) // unused for a whole interval: forget it
		}
		return true
	})
	if len(batch) == 0 {
		return nil
	}
	if err := s.cfg.Store.TouchTokens(ctx, batch); err != nil {
		for id, at := range batch { // keep them for the next try, newest wins
			s.keepNewest(id, at)
		}
		return fmt.Errorf("token: recording last use: %w", err)
	}
	return nil
}
