package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/envx"
)

// headerIdentity is what the identity headers say: who, in which groups, proved
// by which scheme.
type headerIdentity struct {
	User   string // login, user@domain when the identity has a domain
	Groups string // comma-separated
	Scheme string
}

// sign returns the signature header value for id on a request of method to
// escapedPath at time t: "v1 t=UNIX sig=BASE64URL", where sig is
// HMAC-SHA256 under key over the version, time, method, path, user, groups
// and scheme, one per line.
func sign(key []byte, id headerIdentity, t time.Time, method, escapedPath string) string {
	unix := strconv.FormatInt(t.Unix(), 10)
	return "v1 t=" + unix + " sig=" + base64.RawURLEncoding.EncodeToString(mac(key, unix, method, escapedPath, id))
}

func mac(key []byte, unix, method, path string, id headerIdentity) []byte {
	m := hmac.New(sha256.New, key)
	for _, part := range []string{"gatehouse-identity-v1", unix, method, path, id.User, id.Groups, id.Scheme} {
		m.Write([]byte(part))
		m.Write([]byte{'\n'})
	}
	return m.Sum(nil)
}

// Verifier checks the signed identity headers in an upstream service.
//
//	v := gateway.Verifier{Key: key}
//	http.ListenAndServe(addr, v.Middleware(api)) // api reads auth.IdentityFrom
type Verifier struct {
	Key     []byte        // the gateway's Config.SignKey
	Headers Headers       // zero = DefaultHeaders
	MaxAge  time.Duration // how old a signature may be (and how far ahead); 0 = 1 minute
	Env     auth.Env      // the service's shared settings: the clock
}

// errUnsigned is returned by Verify for a request without identity headers.
var errUnsigned = errors.New("gateway: no signed identity")

// Verify checks r's identity headers against their signature and returns
// the identity they name (the login stays whole, user@domain, since a user
// name may hold an @). A signature binds method and path, so headers cannot be
// moved to another request; within MaxAge the same request may be replayed
// by whoever can reach the upstream directly, so keep that path private.
func (v Verifier) Verify(r *http.Request) (*auth.Identity, error) {
	id, err := v.verify(r)
	if err != nil {
		return nil, err
	}
	ident := &auth.Identity{User: id.User, Scheme: id.Scheme}
	if id.Groups != "" {
		ident.Groups = strings.Split(id.Groups, ",")
	}
	return ident, nil
}

// verify is Verify, with the identity as the headers say it.
func (v Verifier) verify(r *http.Request) (headerIdentity, error) {
	h := v.Headers.orDefault()
	sig := r.Header.Get(h.Signature)
	id := headerIdentity{User: r.Header.Get(h.User), Groups: r.Header.Get(h.Groups), Scheme: r.Header.Get(h.Scheme)}
	if sig == "" && id.User == "" {
		return headerIdentity{}, errUnsigned
	}
	rest, ok := strings.CutPrefix(sig, "v1 t=")
	unix, enc, ok2 := strings.Cut(rest, " sig=")
	if !ok || !ok2 || id.User == "" {
		return headerIdentity{}, errors.New("gateway: malformed identity signature")
	}
	secs, err := strconv.ParseInt(unix, 10, 64)
	if err != nil {
		return headerIdentity{}, errors.New("gateway: malformed identity signature time")
	}
	got, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || !hmac.Equal(got, mac(v.Key, unix, r.Method, r.URL.EscapedPath(), id)) {
		return headerIdentity{}, errors.New("gateway: identity signature does not match")
	}
	now, maxAge := envx.Clock(v.Env.Now), v.MaxAge
	if maxAge <= 0 {
		maxAge = time.Minute
	}
	if age := now().Sub(time.Unix(secs, 0)); age > maxAge || age < -maxAge {
		return headerIdentity{}, errors.New("gateway: identity signature too old or from the future")
	}
	return id, nil
}

// Middleware answers 401 (problem+json) to requests whose identity headers
// are missing or do not verify, and passes the others on with an
// auth.Identity in their context (read it with auth.IdentityFrom).
func (v Verifier) Middleware(next http.Handler) http.Handler {
	if len(v.Key) < 32 {
		panic("gateway: Verifier.Key must be at least 32 bytes")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := v.Verify(r)
		if err != nil {
			writeProblem(w, http.StatusUnauthorized, "the request did not come through the gateway")
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithIdentity(r.Context(), id)))
	})
}
