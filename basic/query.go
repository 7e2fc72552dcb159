package basic

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/creds"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// QueryConfig names the query parameters that carry credentials, the xCAT
// way. The zero value means xCAT's names.
type QueryConfig struct {
	UserParam      string   // default "userName"
	PasswordParams []string // tried in order; default "userPW", then the pre-2.10 "password"
	// TokenURL, when set, is advertised in a Link rel="deprecation" header
	// as the better way (acquire a token there).
	TokenURL string
	// DeprecatedSince is the date sent in the Deprecation header (RFC 9745);
	// default 2026-01-01.
	DeprecatedSince time.Time
}

// queryAuth authenticates credentials in the query string, the xCAT way:
// ?userName=U&userPW=P (or &password=P). Every successful response carries a
// Deprecation header (RFC 9745), and the credentials are removed from the
// request URL before the wrapped handler (and its access log) sees it.
// queryAuth implements auth.Authenticator (it offers no challenge).
type queryAuth struct {
	cfg        Config
	userParam  string
	pwParams   []string
	params     []string // userParam and pwParams
	deprecated string
	link       string
}

// NewQuery returns the query-string authenticator.
func NewQuery(cfg Config, q QueryConfig) auth.Authenticator {
	cfg.defaults()
	if q.UserParam == "" {
		q.UserParam = "userName"
	}
	if len(q.PasswordParams) == 0 {
		q.PasswordParams = []string{"userPW", "password"}
	}
	if q.DeprecatedSince.IsZero() {
		q.DeprecatedSince = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	a := &queryAuth{cfg: cfg, userParam: q.UserParam, pwParams: q.PasswordParams,
		deprecated: "@" + strconv.FormatInt(q.DeprecatedSince.Unix(), 10)}
	a.params = append([]string{q.UserParam}, q.PasswordParams...)
	if q.TokenURL != "" {
		a.link = "<" + q.TokenURL + `>; rel="deprecation"`
	}
	return a
}

// Authenticate implements auth.Authenticator. On a request another scheme
// of a chain has authenticated (auth.Decided), it checks nothing and only
// strips its credentials from the URL, if there are any: so they never
// reach the handler, whatever the chain's order.
func (a *queryAuth) Authenticate(r *http.Request) (*auth.Result, error) {
	if r.URL.RawQuery == "" {
		return nil, auth.ErrNoCredentials
	}
	if auth.Decided(r) {
		if !a.inURL(r) {
			return nil, auth.ErrNoCredentials
		}
		return &auth.Result{Finish: a.strip}, nil
	}
	user, pw, perr := creds.ParseQuery(r.URL.RawQuery, a.userParam, a.pwParams)
	if perr != nil {
		perr.Scheme = auth.SchemeQuery
		return nil, perr
	}
	if user == "" && pw == "" {
		return nil, auth.ErrNoCredentials
	}
	if err := auth.RefusePlainHTTP(r); err != nil {
		return nil, err
	}
	id, err := a.cfg.verify(r, auth.SchemeQuery, user, pw)
	if err != nil {
		return nil, err
	}
	return &auth.Result{Identity: id, Finish: a.finish}, nil
}

// inURL reports whether r's query names one of the credential parameters.
func (a *queryAuth) inURL(r *http.Request) bool {
	return httpx.HasParam(r.URL.RawQuery, a.isParam)
}

// isParam reports whether name is one of the credential parameters.
func (a *queryAuth) isParam(name string) bool { return slices.Contains(a.params, name) }

// finish adds the Deprecation (and Link) header and strips the credentials
// from the URL the handler sees.
func (a *queryAuth) finish(w http.ResponseWriter, r *http.Request) *http.Request {
	w.Header().Set("Deprecation", a.deprecated)
	if a.link != "" {
		w.Header().Add("Link", a.link)
	}
	return a.strip(w, r)
}

// strip removes the credentials from the URL the handler sees.
func (a *queryAuth) strip(_ http.ResponseWriter, r *http.Request) *http.Request {
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = stripCredentials(r.URL.RawQuery, a.params)
	r2.RequestURI = r2.URL.RequestURI()
	return r2
}

// stripCredentials removes the named parameters from a raw query string,
// keeping the others in their order and encoding. Use it on anything that
// logs URLs of requests that may carry query credentials.
func stripCredentials(rawQuery string, params []string) string {
	return httpx.StripParams(rawQuery, func(name string) bool { return slices.Contains(params, name) })
}
