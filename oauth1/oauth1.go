// Package oauth1 verifies 1-legged OAuth 1.0a requests (RFC 5849) the way
// Satellite/Foreman takes them: a consumer key and secret sign each request,
// no token, and a FOREMAN-USER header says which user the request acts as.
//
// Beyond Foreman, it checks the timestamp window and refuses replayed nonces
// (Foreman's OAuth stack checks neither, so a captured request can be
// replayed forever), never logs the consumer secret, costs the same for an
// unknown consumer as for a wrong signature, and offers a strict mode in
// which the acting user is covered by the signature.
//
// # The user-mapping trade-off
//
// With stores.ConsumerMapHeader (Foreman's default) the user comes from the FOREMAN-USER
// header, which the signature does not cover: anyone holding the consumer key
// and secret can act as any user, and so can anyone who can alter a signed
// request in flight without TLS. Restrict each consumer to a list of users
// (stores.Consumer.Users) to limit that, or use stores.ConsumerMapSigned, in which the user is
// the signed xoauth_requestor_id parameter (clients must send it; the Client
// helper does). stores.ConsumerMapNone authenticates every valid request as one built-in
// identity — in Foreman that is foreman_api_admin, a FULL ADMINISTRATOR:
// anyone with the consumer secret then has every right.
//
// # Bodies
//
// An OAuth 1 signature covers the method, URL, query and a form-encoded body,
// not a JSON body: a JSON body can be altered without breaking the signature.
// The oauth_body_hash extension (a signed SHA-1 or SHA-256 of the raw body)
// closes that gap, but real clients get it wrong: apipie-bindings (under
// hammer) signs before the body is attached and always sends the hash of
// the empty body, and node's oauth-1.0a sends an HMAC instead of a digest.
// Foreman never compares the hash, so those clients work there. Config.BodyHash
// chooses:
//
//   - BodyHashIgnore (Foreman's behaviour): the parameter is signed like any
//     other but its value is not compared with the body. It defends nothing
//     about the body: whoever alters a JSON body in flight is not noticed.
//   - BodyHashCheckIfPresent (the zero value): a hash that is sent must
//     match the body; requests without one pass. It defends the bodies of
//     clients that send a correct hash.
//   - BodyHashRequire: every request with a non-form body must carry a
//     matching hash. It defends every body, and refuses hammer's writes.
//
// In every mode a form-encoded body must not carry a hash (RFC: it is
// signed as parameters).
package oauth1

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/envx"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/memo"
	"github.com/gatehouse/gatehouse/internal/oauthsig"
)

// BodyHashPolicy says what the oauth_body_hash parameter is checked against
// (see the package documentation, "Bodies").
type BodyHashPolicy int

// Body-hash policies.
const (
	BodyHashCheckIfPresent BodyHashPolicy = iota // a hash that is sent must match the body
	BodyHashIgnore                               // signed, never compared (Foreman)
	BodyHashRequire                              // every non-form body must carry a matching hash
)

// Config configures the Authenticator.
type Config struct {
	Consumers stores.ConsumerStore // required
	Nonces    stores.NonceStore    // required
	Users     stores.UserStore     // required unless Mapping is stores.ConsumerMapNone

	// Mapping says how a verified request maps to a user (a consumer's
	// own stores.Consumer.Mapping overrides it): stores.ConsumerMapHeader
	// (the default, "") takes the user from the UserHeader (FOREMAN-USER),
	// matched case-insensitively, as Foreman does — the header is not
	// signed; stores.ConsumerMapSigned takes it from the signed
	// xoauth_requestor_id parameter, and a UserHeader that names someone
	// else is refused; stores.ConsumerMapNone authenticates as the built-in
	// NoMappingUser (Foreman: foreman_api_admin, a full administrator).
	Mapping    string
	UserHeader string // default "FOREMAN-USER"
	Realm      string // in the challenge; default "gatehouse"
	// NoMappingUser and NoMappingGroups are the identity of stores.ConsumerMapNone;
	// defaults "foreman_api_admin" and ["admin"].
	NoMappingUser   string
	NoMappingGroups []string

	// Window is the allowed clock difference for oauth_timestamp; default 5
	// minutes either way. Nonces are remembered for twice the window.
	Window time.Duration
	// BodyHash is the oauth_body_hash policy; the zero value checks a hash
	// when one is sent. Foreman's clients need BodyHashIgnore.
	BodyHash BodyHashPolicy
	// MaxBodyBytes bounds the body read for form parameters and body hashes;
	// default 1 MiB.
	MaxBodyBytes int64
	// Env is the service's shared settings (auth.Env): its clock, and
	// TrustForwarded, which rebuilds the signed URL from X-Forwarded-Proto
	// and X-Forwarded-Host, for servers behind a TLS-terminating proxy.
	Env auth.Env
}

// authenticator verifies OAuth 1.0a signed requests. It implements
// auth.Authenticator.
type authenticator struct {
	cfg               Config
	userKey           string // canonical form of cfg.UserHeader
	userKeyUnderscore string // the same with _ for - (puppet-foreman's spelling)
}

// dummyConsumer is verified against when the consumer is unknown, disabled
// or not registered for the request's method, so that every refusal costs
// the work of a real check: an HMAC with a real-length secret, or an RSA
// verification with a 2048-bit key parsed from PEM as a real one is.
var dummyConsumer = sync.OnceValue(func() *stores.Consumer {
	c := &stores.Consumer{Key: "gatehouse-dummy", Secret: rand.Text()}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err == nil {
		if der, err := x509.MarshalPKIXPublicKey(&k.PublicKey); err == nil {
			c.RSAPublicKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		}
	}
	return c
})

// New returns the Authenticator.
func New(cfg Config) auth.Authenticator {
	if cfg.Consumers == nil || cfg.Nonces == nil || (cfg.Users == nil && cfg.Mapping != stores.ConsumerMapNone) {
		panic("oauth1: Config needs Consumers, Nonces and (unless stores.ConsumerMapNone) Users")
	}
	switch cfg.Mapping {
	case stores.ConsumerMapDefault, stores.ConsumerMapHeader, stores.ConsumerMapSigned, stores.ConsumerMapNone:
	default:
		panic("oauth1: Config.Mapping must be one of the stores.ConsumerMap constants")
	}
	if cfg.UserHeader == "" {
		cfg.UserHeader = "FOREMAN-USER"
	}
	if cfg.Realm == "" {
		cfg.Realm = "gatehouse"
	}
	if cfg.NoMappingUser == "" {
		cfg.NoMappingUser = "foreman_api_admin"
	}
	if cfg.NoMappingGroups == nil {
		cfg.NoMappingGroups = []string{"admin"}
	}
	if cfg.Window <= 0 {
		cfg.Window = 5 * time.Minute
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	cfg.Env.Now = envx.Clock(cfg.Env.Now)
	go dummyConsumer() // make the dummy RSA key before the first refusal needs it
	return &authenticator{cfg: cfg, userKey: http.CanonicalHeaderKey(cfg.UserHeader),
		userKeyUnderscore: http.CanonicalHeaderKey(strings.ReplaceAll(cfg.UserHeader, "-", "_"))}
}

// Challenges implements auth.Challenger.
func (a *authenticator) Challenges() []string {
	return []string{"OAuth realm=" + strconv.Quote(a.cfg.Realm)}
}

func (a *authenticator) inHeaderOrQuery(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	return len(h) >= 6 && strings.EqualFold(h[:6], "oauth ") || hasOAuthParam(r.URL.RawQuery)
}

// hasOAuthParam reports whether a raw form or query string has a parameter
// whose name starts with oauth_ (escaped or not).
func hasOAuthParam(raw string) bool {
	for part := range strings.SplitSeq(raw, "&") {
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if strings.HasPrefix(name, "oauth_") {
			return true
		}
	}
	return false
}

// formCredentials peeks at a form-encoded body: whether it carries an
// oauth_ parameter, and its bytes when it fits in MaxBodyBytes. r.Body is
// left holding the whole body for whoever reads next.
func (a *authenticator) formCredentials(r *http.Request) (has bool, body []byte, tooLarge bool) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return false, nil, false
	}
	body, complete, err := httpx.PeekBody(r, a.cfg.MaxBodyBytes)
	if err != nil {
		return false, nil, false
	}
	if !complete {
		return bytes.Contains(body, []byte("oauth_")), nil, true
	}
	return hasOAuthParam(string(body)), body, false
}

func fail(reason auth.Reason, msg string) *auth.Error {
	return &auth.Error{Reason: reason, Scheme: auth.SchemeOAuth1, Message: msg}
}

// request is what Authenticate gathers before checking.
// The body and the protocol parameters are returned beside it, so that
// their use cannot make the parameters' stack room escape to the heap
// (escape analysis does not tell a struct's fields apart).
type request struct {
	all  []oauthsig.Encoded // every signed parameter (without signature and realm), encoded
	form bool               // the body is a form (its parameters are in all)
}

// paramSpace is room for a usual request's parameters on Authenticate's
// stack: gather fills it instead of allocating.
const paramSpace = 12

// proto holds the protocol parameters of one request, each found once
// while gathering (a lookup by name per use was a tenth of a
// verification), decoded, but for the signature: it stays encoded
// (oauthsig.Encoded) until verifySignature decodes it without a string of
// its own. It holds strings only: see request.
type proto struct {
	consumerKey, method, signature, timestamp, nonce, version, token, bodyHash, requestorID string

	seen uint16 // the seen* bit of each field that was given
}

// Bits of proto.seen, one per field.
const (
	seenConsumerKey uint16 = 1 << iota
	seenMethod
	seenSignature
	seenTimestamp
	seenNonce
	seenVersion
	seenToken
	seenBodyHash
	seenRequestorID
)

// protoField is the field for a protocol parameter's name and its bit in
// seen, or nil for a name without a field.
func (o *proto) protoField(name string) (*string, uint16) {
	switch name {
	case "oauth_consumer_key":
		return &o.consumerKey, seenConsumerKey
	case "oauth_signature_method":
		return &o.method, seenMethod
	case "oauth_signature":
		return &o.signature, seenSignature
	case "oauth_timestamp":
		return &o.timestamp, seenTimestamp
	case "oauth_nonce":
		return &o.nonce, seenNonce
	case "oauth_version":
		return &o.version, seenVersion
	case "oauth_token":
		return &o.token, seenToken
	case "oauth_body_hash":
		return &o.bodyHash, seenBodyHash
	case "xoauth_requestor_id":
		return &o.requestorID, seenRequestorID
	}
	return nil, 0
}

// set records a protocol parameter that has a field (known). It reports the
// value it already had when the name was given before (dup). A parameter
// without a field is the caller's to keep apart.
func (o *proto) set(p oauthsig.Encoded) (old string, dup, known bool) {
	f, bit := o.protoField(p.Name)
	if f == nil {
		return "", false, false
	}
	if o.seen&bit != 0 {
		return *f, true, true
	}
	*f, o.seen = p.Value, o.seen|bit
	return "", false, true
}

// gather collects the parameters of r from the header, the query and a form
// body, refusing duplicated protocol parameters. They are kept encoded (a
// client's usual encoding is used as sent); the protocol parameters are
// decoded once gathered.
//
// header, others, query and all are empty slices with room (see
// paramSpace) for the header's parameters, the protocol parameters without
// a field in proto (kept to spot a second copy), the query's and all
// parameters.
func (a *authenticator) gather(r *http.Request, header, others, query, all []oauthsig.Encoded) (req request, o proto, body []byte, err error) {
	var sources [3][]oauthsig.Encoded // header, query, form body; indexed, not appended, so that it stays on the stack
	nsrc := 0
	if hv := r.Header["Authorization"]; len(hv) > 0 {
		hp, ok, err := oauthsig.AppendHeaderEncoded(header, hv[0])
		if err != nil {
			return request{}, proto{}, nil, fail(auth.ReasonMalformed, err.Error())
		}
		if ok {
			if len(hv) > 1 {
				return request{}, proto{}, nil, fail(auth.ReasonMalformed, "more than one Authorization header")
			}
			hp = slices.DeleteFunc(hp, func(p oauthsig.Encoded) bool { return p.Name == "realm" })
			sources[nsrc], nsrc = hp, nsrc+1
		}
	}
	qp, err := oauthsig.AppendFormEncoded(query, r.URL.RawQuery)
	if err != nil {
		return request{}, proto{}, nil, fail(auth.ReasonMalformed, "query string is not valid URL encoding")
	}
	sources[nsrc], nsrc = qp, nsrc+1
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		peeked, complete, err := httpx.PeekBody(r, a.cfg.MaxBodyBytes) // the handler still reads it
		if err != nil {
			return request{}, proto{}, nil, fail(auth.ReasonMalformed, "cannot read the request body")
		}
		if !complete {
			return request{}, proto{}, nil, fail(auth.ReasonMalformed, "request body too large to verify")
		}
		body = peeked
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			fp, err := oauthsig.AppendFormEncoded(nil, string(body))
			if err != nil {
				return request{}, proto{}, nil, fail(auth.ReasonMalformed, "form body is not valid URL encoding")
			}
			req.form = true
			sources[nsrc], nsrc = fp, nsrc+1
		}
	}
	n := 0
	for _, src := range sources[:nsrc] {
		n += len(src)
	}
	req.all = all
	if n > cap(all) {
		req.all = make([]oauthsig.Encoded, 0, n)
	}
	for _, src := range sources[:nsrc] {
		for _, p := range src {
			if strings.HasPrefix(p.Name, "oauth_") || strings.HasPrefix(p.Name, "xoauth_") {
				v, dup, known := o.set(p)
				if !known {
					for _, q := range others {
						if q.Name == p.Name {
							v, dup = q.Value, true
						}
					}
					if !dup {
						others = append(others, p)
					}
				}
				if dup {
					if v != p.Value {
						return request{}, proto{}, nil, fail(auth.ReasonMalformed, "OAuth parameter "+p.Name+" given twice with different values")
					}
					// The same name and value twice (authlib sends query and
					// body parameters in both places): signed once.
					continue
				}
			}
			if p.Name == "oauth_signature" {
				continue
			}
			req.all = append(req.all, p)
		}
	}
	if o.signature == "" && o.consumerKey == "" {
		return request{}, proto{}, nil, auth.ErrNoCredentials
	}
	for _, f := range [...]*string{&o.consumerKey, &o.method, &o.timestamp, &o.nonce, &o.version, &o.token, &o.bodyHash, &o.requestorID} {
		*f = oauthsig.Decode(*f)
		if len(*f) > maxParamBytes {
			return request{}, proto{}, nil, fail(auth.ReasonMalformed, fmt.Sprintf("an OAuth parameter is longer than %d bytes", maxParamBytes))
		}
	}
	if len(o.signature) > maxSignatureBytes {
		return request{}, proto{}, nil, fail(auth.ReasonMalformed, "oauth_signature is too long")
	}
	// Names that reach a store, and the nonce that is stored, are text: a
	// NUL or invalid UTF-8 is refused here rather than by PostgreSQL (which
	// would be a 503) or kept in Redis.
	for _, f := range [...]string{o.consumerKey, o.nonce, o.requestorID} {
		if !httpx.Printable(f) {
			return request{}, proto{}, nil, fail(auth.ReasonInvalid, "invalid consumer key or signature (an OAuth parameter holds control characters or invalid UTF-8)")
		}
	}
	return req, o, body, nil
}

// maxParamBytes bounds each decoded OAuth protocol parameter but the
// signature (consumer key, nonce, timestamp, …): real clients send nonces of
// 16 to 64 characters and keys of a few dozen. A longer one is refused with
// 400 before it reaches a store (a nonce is kept for twice the window).
const maxParamBytes = 256

// maxSignatureBytes bounds oauth_signature as sent: an RSA-SHA1 signature
// of an 8192-bit key, base64 and percent-encoded, with room to spare.
const maxSignatureBytes = 4096

// Authenticate implements auth.Authenticator. A request without an OAuth
// header, query parameter or form parameter is not read at all and gets
// auth.ErrNoCredentials, so a form POST for another scheme is left alone.
// A form body it reads stays readable for the handler.
func (a *authenticator) Authenticate(r *http.Request) (*auth.Result, error) {
	inQuery := httpx.HasParam(r.URL.RawQuery, isOAuthName)
	if auth.Decided(r) { // another scheme won: only oauth_ parameters in the URL to remove
		if !inQuery {
			return nil, auth.ErrNoCredentials
		}
		return &auth.Result{Finish: stripOAuthQuery}, nil
	}
	res, err := auth.IdentityFunc(a.authenticate).Authenticate(r)
	if err == nil && res != nil && inQuery {
		// The signature (with PLAINTEXT, the consumer's secret) and the
		// other oauth_ parameters never reach the handler's URL or log.
		res.Finish = stripOAuthQuery
	}
	return res, err
}

func isOAuthName(name string) bool { return strings.HasPrefix(name, "oauth_") }

// stripOAuthQuery removes the oauth_ parameters from the URL the handler
// sees.
func stripOAuthQuery(_ http.ResponseWriter, r *http.Request) *http.Request {
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = httpx.StripParams(r.URL.RawQuery, isOAuthName)
	r2.RequestURI = r2.URL.RequestURI()
	return r2
}

func (a *authenticator) authenticate(r *http.Request) (*auth.Identity, error) {
	if !a.inHeaderOrQuery(r) {
		has, _, tooLarge := a.formCredentials(r)
		if !has {
			return nil, auth.ErrNoCredentials
		}
		if tooLarge {
			return nil, fail(auth.ReasonMalformed, "request body too large to verify")
		}
	}
	if err := auth.RefusePlainHTTP(r); err != nil {
		return nil, err
	}
	var header, others, query, all [paramSpace]oauthsig.Encoded
	req, o, body, err := a.gather(r, header[:0], others[:0], query[:0], all[:0])
	if err != nil {
		return nil, err
	}
	switch {
	case o.consumerKey == "":
		return nil, fail(auth.ReasonMalformed, "missing oauth_consumer_key")
	case o.method == "":
		return nil, fail(auth.ReasonMalformed, "missing oauth_signature_method")
	case o.signature == "":
		return nil, fail(auth.ReasonMalformed, "missing oauth_signature")
	}
	method := o.method
	if o.seen&seenVersion != 0 && o.version != "1.0" {
		return nil, fail(auth.ReasonMalformed, "oauth_version must be 1.0")
	}
	if o.token != "" {
		return nil, fail(auth.ReasonInvalid, "tokens are not supported: sign 1-legged with the consumer key and secret only")
	}
	switch method {
	case "HMAC-SHA1", "HMAC-SHA256", "RSA-SHA1":
	case "PLAINTEXT":
		if !envx.Secure(r, a.cfg.Env.TrustForwarded) {
			return nil, fail(auth.ReasonInvalid, "PLAINTEXT signatures are accepted only over TLS")
		}
	default:
		return nil, fail(auth.ReasonInvalid, "unsupported signature method "+strconv.Quote(method))
	}
	// Every method, PLAINTEXT included, needs a timestamp and a nonce: a
	// request without them could be replayed forever.
	now := a.cfg.Env.Now()
	if o.timestamp == "" || o.nonce == "" {
		return nil, fail(auth.ReasonMalformed, "missing oauth_timestamp or oauth_nonce")
	}
	secs, err := strconv.ParseInt(o.timestamp, 10, 64)
	if err != nil || secs < 0 {
		return nil, fail(auth.ReasonMalformed, "oauth_timestamp is not a number of seconds")
	}
	if d := now.Sub(time.Unix(secs, 0)); d > a.cfg.Window || d < -a.cfg.Window {
		return nil, fail(auth.ReasonInvalid, fmt.Sprintf("stale timestamp: oauth_timestamp is outside the allowed window of ±%s (check the client's clock)", a.cfg.Window))
	}

	key := o.consumerKey
	consumer, err := a.cfg.Consumers.Consumer(r.Context(), key)
	if err != nil && !errors.Is(err, stores.ErrNotFound) {
		return nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: auth.SchemeOAuth1, Cause: err}
	}
	// A consumer verifies only the methods it is registered for: an
	// RSA-only consumer has no secret, and an HMAC "signed" with the empty
	// key must not pass. Unknown, disabled and unregistered all do the work
	// of a real check against the dummy consumer and get the same answer.
	var cause error
	switch {
	case err != nil:
		cause = errors.New("unknown consumer key")
	case consumer.Disabled:
		cause = errors.New("disabled consumer")
	case !consumer.Accepts(method):
		cause = errors.New("consumer not registered for " + method)
	}
	if cause != nil {
		consumer = dummyConsumer()
	}
	bp := baseBuffers.Get().(*[]byte)
	scheme, host := a.schemeAndHost(r)
	base := oauthsig.AppendBaseStringEncoded((*bp)[:0], r.Method, scheme, host, r.URL.EscapedPath(), req.all)
	sigOK := verifySignature(method, base, o.signature, consumer)
	if cap(base) <= 64<<10 { // keep usual sizes only
		*bp = base
		baseBuffers.Put(bp)
	}
	if cause != nil || !sigOK {
		if cause == nil {
			cause = errors.New("bad signature")
		}
		// The same words for an unknown consumer and a bad signature (no
		// enumeration); the key is the client's own, checked printable.
		e := fail(auth.ReasonInvalid, fmt.Sprintf("invalid consumer key or signature for consumer %q (the consumer, its secret, or the signed method, URL, query or form body differ)", key))
		e.Cause = fmt.Errorf("%w (consumer %q)", cause, key) // for the audit log only
		return nil, e
	}
	if err := a.checkBodyHash(o.bodyHash, o.seen&seenBodyHash != 0, body, req.form, method); err != nil {
		return nil, err
	}
	fresh, err := a.cfg.Nonces.UseNonce(r.Context(), key, o.nonce, now.Add(2*a.cfg.Window))
	if err != nil {
		return nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: auth.SchemeOAuth1, Cause: err}
	}
	if !fresh {
		return nil, fail(auth.ReasonInvalid, "replayed nonce: this oauth_nonce was already used")
	}
	return a.mapUser(r, consumer, o.requestorID)
}

// baseBuffers hold signature base strings between requests.
var baseBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// schemeAndHost are the scheme and host of r's base URI (RFC 5849
// §3.4.1.2), from X-Forwarded-Proto and -Host when those are trusted.
func (a *authenticator) schemeAndHost(r *http.Request) (scheme, host string) {
	scheme, host = "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if a.cfg.Env.TrustForwarded {
		if p := strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0]); p != "" {
			scheme = strings.ToLower(p)
		}
		if h := strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Host"), ",")[0]); h != "" {
			host = h
		}
	}
	return scheme, host
}

// signingKeys remembers each consumer secret's HMAC key ("encoded secret&"),
// so that a request does not build it again.
var signingKeys = memo.New[string, string](1024)

// verifySignature checks the signature, given in its encoding (sigEnc:
// see proto), of the base string.
func verifySignature(method string, base []byte, sigEnc string, c *stores.Consumer) bool {
	if !c.Accepts(method) {
		return false // never verify with material the consumer does not have
	}
	key := signingKeys.Get(c.Secret, func() string { return oauthsig.Encode(c.Secret) + "&" }) // 1-legged: the token secret is empty
	switch method {
	case "HMAC-SHA1", "HMAC-SHA256":
		// Percent-decoded, then base64-decoded, on the stack: SHA-256's
		// 32 bytes, with room for a longer guess.
		var b64, buf [96]byte
		want := buf[:0]
		if sig, ok := oauthsig.AppendDecoded(b64[:0], sigEnc); ok && base64.StdEncoding.DecodedLen(len(sig)) <= len(buf) {
			if n, err := base64.StdEncoding.Decode(buf[:], sig); err == nil {
				want = buf[:n]
			}
		}
		return oauthsig.HMACEqual(method, base, key, want)
	case "PLAINTEXT":
		return subtle.ConstantTimeCompare([]byte(oauthsig.Decode(sigEnc)), []byte(key)) == 1
	case "RSA-SHA1":
		pub := rsaKey(c.RSAPublicKeyPEM)
		raw, err := base64.StdEncoding.DecodeString(oauthsig.Decode(sigEnc))
		if pub == nil || err != nil {
			return false
		}
		digest := sha1.Sum(base)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA1, digest[:], raw) == nil
	}
	return false
}

func rsaKey(pemText string) *rsa.PublicKey {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil
	}
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		if rk, ok := k.(*rsa.PublicKey); ok {
			return rk
		}
	}
	if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
		if rk, ok := cert.PublicKey.(*rsa.PublicKey); ok {
			return rk
		}
	}
	if rk, err := x509.ParsePKCS1PublicKey(block.Bytes); err == nil {
		return rk
	}
	return nil
}

// checkBodyHash applies the oauth_body_hash extension: refused on form
// bodies, required (when configured) on other bodies, and checked when given.
func (a *authenticator) checkBodyHash(got string, present bool, body []byte, form bool, method string) error {
	if form {
		if present {
			return fail(auth.ReasonMalformed, "oauth_body_hash must not be sent with a form-encoded body")
		}
		return nil
	}
	if !present {
		if a.cfg.BodyHash == BodyHashRequire && len(body) > 0 {
			return fail(auth.ReasonInvalid, "oauth_body_hash is required: the signature does not cover a non-form body otherwise")
		}
		return nil
	}
	if a.cfg.BodyHash == BodyHashIgnore {
		return nil
	}
	var h hash.Hash = sha1.New()
	if method == "HMAC-SHA256" {
		h = sha256.New()
	}
	h.Write(body)
	if subtle.ConstantTimeCompare([]byte(base64.StdEncoding.EncodeToString(h.Sum(nil))), []byte(got)) != 1 {
		return fail(auth.ReasonInvalid, "oauth_body_hash does not match the body")
	}
	return nil
}

// mapping is the consumer's own user mapping, or the configured one.
func (a *authenticator) mapping(c *stores.Consumer) string {
	if c.Mapping != stores.ConsumerMapDefault {
		return c.Mapping
	}
	return a.cfg.Mapping
}

// consumerAttrs shares each consumer's Identity.Attrs among its requests
// (an Identity's map is never mutated).
var consumerAttrs = memo.New[string, map[string]string](1024)

func (a *authenticator) mapUser(r *http.Request, c *stores.Consumer, requestorID string) (*auth.Identity, error) {
	attrs := consumerAttrs.Get(c.Key, func() map[string]string { return map[string]string{"consumer_key": c.Key} })
	header, err := a.userHeader(r)
	if err != nil {
		return nil, err
	}
	var name string
	switch a.mapping(c) {
	case stores.ConsumerMapNone:
		return &auth.Identity{User: a.cfg.NoMappingUser, Groups: a.cfg.NoMappingGroups, Scheme: auth.SchemeOAuth1, Attrs: attrs}, nil
	case stores.ConsumerMapSigned:
		name = requestorID
		if name == "" {
			return nil, fail(auth.ReasonInvalid, "strict user mapping: sign the user as the xoauth_requestor_id parameter")
		}
		if header != "" && !strings.EqualFold(header, name) {
			return nil, fail(auth.ReasonInvalid, a.cfg.UserHeader+" differs from the signed xoauth_requestor_id")
		}
	default:
		name = header
		if name == "" {
			return nil, fail(auth.ReasonInvalid, "missing "+a.cfg.UserHeader+" header naming the user")
		}
	}
	if len(c.Users) > 0 && !slices.ContainsFunc(c.Users, func(u string) bool { return strings.EqualFold(u, name) }) {
		return nil, &auth.Error{Reason: auth.ReasonInvalid, Scheme: auth.SchemeOAuth1, User: name, Message: "this consumer may not act as that user"}
	}
	if a.cfg.Users == nil { // a consumer maps users, but the server was configured with stores.ConsumerMapNone and no user store
		return nil, &auth.Error{Reason: auth.ReasonInvalid, Scheme: auth.SchemeOAuth1, User: name,
			Message: "this server does not map OAuth 1 users", Cause: fmt.Errorf("consumer %q maps users, and oauth1.Config has no Users", c.Key)}
	}
	u, err := lookupFold(r.Context(), a.cfg.Users, name)
	if err != nil && !errors.Is(err, stores.ErrNotFound) {
		return nil, &auth.Error{Reason: auth.ReasonUnavailable, Scheme: auth.SchemeOAuth1, Cause: err}
	}
	if err != nil || u.Disabled {
		return nil, &auth.Error{Reason: auth.ReasonInvalid, Scheme: auth.SchemeOAuth1, User: name, Message: "unknown user"}
	}
	id := auth.UserIdentity(u, auth.SchemeOAuth1)
	id.Attrs = attrs
	return id, nil
}

// userHeader reads the user header in either spelling: FOREMAN-USER, or
// foreman_user as puppet-foreman sends it (Go keeps "Foreman_user" apart
// from "Foreman-User"; Rack, under Foreman, merges them). Both at once with
// different values is refused.
func (a *authenticator) userHeader(r *http.Request) (string, error) {
	dash, underscore := "", ""
	dashes, underscores := r.Header[a.userKey], r.Header[a.userKeyUnderscore]
	if a.userKeyUnderscore == a.userKey {
		underscores = nil
	}
	if len(dashes) > 1 || len(underscores) > 1 {
		// A proxy that appends its own header would leave the client's
		// first one in force.
		return "", fail(auth.ReasonMalformed, a.cfg.UserHeader+" sent more than once")
	}
	if len(dashes) > 0 {
		dash = strings.TrimSpace(dashes[0])
	}
	if len(underscores) > 0 {
		underscore = strings.TrimSpace(underscores[0])
	}
	for _, v := range [...]string{dash, underscore} {
		if len(v) > maxParamBytes || !httpx.Printable(v) || strings.Contains(v, ",") {
			return "", fail(auth.ReasonMalformed, a.cfg.UserHeader+" is not a user name (too long, a list, control characters or invalid UTF-8)")
		}
	}
	switch {
	case dash != "" && underscore != "" && dash != underscore:
		return "", fail(auth.ReasonMalformed, a.cfg.UserHeader+" sent twice (with - and with _) naming different users")
	case dash != "":
		return dash, nil
	}
	return underscore, nil
}

func lookupFold(ctx context.Context, users stores.UserStore, name string) (*stores.User, error) {
	if f, ok := users.(stores.UserFolder); ok {
		return f.UserFold(ctx, name)
	}
	return users.User(ctx, name)
}
