// Package preset wires gatehouse's schemes into the faces of the four
// products, so that making a service speak, say, oVirt's authentication is
// one call plus the mux:
//
//	p := preset.New(preset.Stores{…}, preset.Options{})
//	mux.Handle("/ovirt-engine/", p.OVirt(api))
//	mux.Handle("/xcatws/", p.XCAT(api))
//
// Each face uses that product's paths, realm, scopes, domains, error dialect
// and token endpoint, as its clients expect them. Every product constant is
// named once, here. The faces share one password pipeline — the store's
// password check behind one verified-credential cache, one throttle, the
// process's hash slots — and one token service, built by New.
package preset

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/basic"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/oauth2"
	"github.com/gatehouse/gatehouse/selfservice"
	"github.com/gatehouse/gatehouse/session"
	"github.com/gatehouse/gatehouse/token"
)

// The products' constants.
const (
	// XCATPrefix is where xCAT's REST API lives; tokens are issued at
	// XCATPrefix + "tokens".
	XCATPrefix = "/xcatws/"
	// SatellitePrefix is where Foreman's API lives.
	SatellitePrefix = "/api/"
	// OVirtPrefix is oVirt's engine: the API under OVirtPrefix+"api", SSO
	// tokens at OVirtTokenPath, the CA at OVirtPKIPath.
	OVirtPrefix    = "/ovirt-engine/"
	OVirtTokenPath = "/ovirt-engine/sso/oauth/token"
	OVirtPKIPath   = "/ovirt-engine/services/pki-resource"
	// oVirtRevokePath and oVirtIntrospectPath are RFC 7009 revocation and
	// RFC 7662 introspection, where oVirt's SSO has its revoke and
	// token-info; OAuthMetadataPath is RFC 8414's metadata.
	oVirtRevokePath     = "/ovirt-engine/sso/oauth/revoke"
	oVirtIntrospectPath = "/ovirt-engine/sso/oauth/token-info"
	OAuthMetadataPath   = "/.well-known/oauth-authorization-server"
	// oVirtRealm is the realm oVirt's clients expect in challenges.
	oVirtRealm = "RESTAPI"
	// oVirtErrorCodeField repeats the error code in oVirt SSO's error
	// JSON: error stays the code, so a client reading it as RFC 6749 says
	// gets invalid_grant, not prose; error_description is always there, so
	// python-ovirt-engine-sdk4 and the Ruby SDK take the pair (error,
	// error_description); error_code keeps the Java and Go SDKs' fields
	// filled.
	oVirtErrorCodeField = "error_code"
	// OVirtScope is the scope oVirt's SSO grants for the API.
	OVirtScope = "ovirt-app-api"
	// OVirtDomain is oVirt's built-in profile (admin@internal).
	OVirtDomain = "internal"
	// FlockerPrefix is Flocker's control-service API.
	FlockerPrefix = "/v1/"
	// xCATRealm names xCAT's API in Bearer challenges.
	xCATRealm = "xCAT"
	// XCATTokenTTL is xCAT's default tokenexpiredays: one day (see
	// ParseExpireDays for the setting).
	XCATTokenTTL = 24 * time.Hour
)

// Stores are the stores the faces need. memstore.Store and sqlstore.Store
// are all of them; with Redis, point Sessions, Nonces and Counter at a
// redisstore.Store.
type Stores struct {
	Users     stores.UserStore
	Tokens    stores.TokenKeeper
	Sessions  stores.SessionStore    // oVirt's persistent-auth
	Consumers stores.ConsumerStore   // Satellite's OAuth 1
	Nonces    stores.NonceStore      // Satellite's OAuth 1
	Counter   stores.FailureCounter  // throttling; nil = none
	Certs     stores.CertRevocations // Flocker's revoked serials; nil = none
	// Policy authorizes every face's requests (an xCAT-style rule table);
	// nil allows every authenticated request.
	Policy auth.PolicyStore
	// Clients are the OAuth 2 clients that may introspect tokens (RFC
	// 7662); nil = introspection refuses everyone.
	Clients stores.ClientStore
}

// From takes every store from one that holds everything (memstore,
// sqlstore; the OAuth 2 client store too when s has it).
func From(s interface {
	stores.UserStore
	stores.TokenAdmin
	stores.SessionStore
	stores.ConsumerStore
	stores.NonceStore
	stores.FailureCounter
	stores.CertRevocations
	auth.PolicyStore
}) Stores {
	st := Stores{Users: s, Tokens: s, Sessions: s, Consumers: s, Nonces: s, Counter: s, Certs: s, Policy: s}
	if c, ok := s.(stores.ClientStore); ok {
		st.Clients = c
	}
	return st
}

// Options tune the faces; the zero value is each product's behaviour.
type Options struct {
	// Env is the service's shared settings (auth.Env), given to every
	// face, scheme and endpoint: TrustForwarded believes X-Forwarded-Proto
	// (and, for OAuth 1's signed URL, X-Forwarded-Host) from a
	// TLS-terminating proxy in front of every request; AllowInsecure
	// accepts credentials over plain HTTP (tests and loopback only); Audit
	// gets one record per decision; Observe hears every decision with the
	// face's name in Decision.Name ("xcat", "satellite", "ovirt",
	// "flocker"), e.g. metrics.Metrics.Observe; Now is the clock of
	// tokens, sessions, OAuth 1 timestamps and certificate checks.
	Env auth.Env
	// TokenHashKey keys the hashes tokens are stored under (every replica
	// the same; see token.Config.HashKey).
	TokenHashKey []byte
	// AccessTTL is the validity of access tokens: 0 = XCATTokenTTL
	// (token.Never: none).
	AccessTTL time.Duration
	// CA is the cluster CA: oVirt's face publishes it, Flocker's verifies
	// client certificates with it (the server's TLS configuration must use
	// mtls.ServerTLSConfig with the same CA).
	CA *mtls.CA
	// ExternalURL is how clients reach the server ("https://gatehouse.example:8443"):
	// the OAuth metadata's issuer. Without it the issuer is taken from each
	// request's Host header and is not cacheable.
	ExternalURL string
	// AllowEncodedSeparators accepts %2F, %5C and %00 inside a path
	// segment on every face (auth.Config.AllowEncodedSeparators); by
	// default they are refused with 400, because policy rules would see one
	// segment where many upstreams see two.
	AllowEncodedSeparators bool
	// HashSlots bound the password hashes of every face, OAuth 2 client
	// secrets included (see pwcheck.HashSlots); nil = the process-wide
	// pwcheck.DefaultHashSlots.
	HashSlots *pwcheck.HashSlots
	// Verifiers are token verifiers every face's token transports (Bearer,
	// X-Auth-Token) accept beside the faces' own tokens: oidc.New's verifier
	// takes an external provider's (Keycloak's) JWTs. On the oVirt face
	// their tokens need scope ovirt-app-api too.
	Verifiers []auth.TokenVerifier
}

// Presets holds what the faces share. Make it with New.
type Presets struct {
	stores    Stores
	opts      Options
	tokens    *token.Service
	passwords *pwcheck.Pipeline
	access    auth.TokenVerifier // the faces' access tokens and Options.Verifiers
}

// New builds the shared password pipeline and token service.
func New(s Stores, o Options) *Presets {
	if o.AccessTTL == 0 {
		o.AccessTTL = XCATTokenTTL
	}
	p := &Presets{stores: s, opts: o}
	p.tokens = token.New(token.Config{Store: s.Tokens, Users: s.Users, HashKey: o.TokenHashKey, AccessTTL: o.AccessTTL, Env: o.Env})
	p.passwords = pwcheck.New(pwcheck.Config{Users: s.Users, Counter: s.Counter, Slots: o.HashSlots, Env: o.Env})
	access := []auth.TokenVerifier{p.tokens.AccessTokens()}
	for _, v := range o.Verifiers {
		access = append(access, transportNamed(v))
	}
	p.access = auth.Union(access...)
	return p
}

// Tokens is the token service the faces share (to create personal access
// tokens, list and revoke tokens).
func (p *Presets) Tokens() *token.Service { return p.tokens }

// middleware wraps next for one face: its scheme, the shared policy and
// audit, the face's error dialect.
// extra, when set, is checked after the rule table.
func (p *Presets) middleware(face string, a auth.Authenticator, dialect auth.Responder, next http.Handler, extra ...auth.Policy) http.Handler {
	cfg := auth.Config{Responder: dialect, Env: p.opts.Env, Name: face, AllowEncodedSeparators: p.opts.AllowEncodedSeparators}
	var policies []auth.Policy
	if p.stores.Policy != nil {
		policies = append(policies, auth.RuleTable{Store: p.stores.Policy})
	}
	policies = append(policies, extra...)
	switch len(policies) {
	case 0:
	case 1:
		cfg.Policy = policies[0]
	default:
		cfg.Policy = auth.Policies(policies...)
	}
	return auth.Middleware(a, cfg)(next)
}

// transportNamed is v with the Scheme of its identities left to the
// transport (Bearer: auth.SchemeOAuth2), so that the faces' rules for
// bearer tokens (the oVirt face's scope) hold for an extra verifier's
// tokens whatever Scheme it sets.
func transportNamed(v auth.TokenVerifier) auth.TokenVerifier {
	return auth.TokenVerifierFunc(func(ctx context.Context, tok string) (*auth.Identity, error) {
		id, err := v.VerifyToken(ctx, tok)
		if err == nil && id != nil && id.Scheme != "" {
			c := *id
			c.Scheme = ""
			id = &c
		}
		return id, err
	})
}

// bearerScope requires scope of identities proved by a bearer token, so
// that a token issued elsewhere (an xCAT access token, a PAT) is refused
// with 403 insufficient_scope; passwords and sessions are not affected.
func bearerScope(realm, scope string) auth.Policy {
	need := oauth2.RequireScope(realm, scope)
	return auth.PolicyFunc(func(ctx context.Context, id *auth.Identity, r *http.Request) error {
		if id == nil || id.Scheme != auth.SchemeOAuth2 {
			return nil
		}
		return need.Authorize(ctx, id, r)
	})
}

// XCAT serves xCAT's face under XCATPrefix: POST …/tokens issues access
// tokens (xCAT's JSON, tokenexpiredays semantics), and every other request
// reaches api when it carries an X-Auth-Token (or Bearer) token, xCAT's
// userName/userPW query credentials (stripped, with a Deprecation header),
// or HTTP Basic. Errors in xCAT's dialect.
func (p *Presets) XCAT(api http.Handler) http.Handler {
	cfg := basic.Config{Passwords: p.passwords}
	mux := route.New()
	mux.Handle(XCATPrefix+"tokens", &XCATTokens{Service: p.tokens, Passwords: p.passwords,
		Env: p.opts.Env})
	mux.Handle(XCATPrefix, p.middleware("xcat", auth.Chain(
		token.XAuthToken(p.access),
		oauth2.NewBearer(oauth2.BearerConfig{Verifier: p.access, Realm: xCATRealm, Scheme: auth.SchemeToken}),
		basic.NewQuery(cfg, basic.QueryConfig{TokenURL: XCATPrefix + "tokens"}),
		basic.New(cfg)), XCATDialect(), api))
	return mux
}

// Satellite serves Satellite/Foreman's face under SatellitePrefix: 1-legged
// OAuth 1.0a with the user in FOREMAN-USER (or puppet-foreman's
// foreman_user), oauth_body_hash signed but not compared as Foreman does
// (hammer needs it), and HTTP Basic with the password or a personal access
// token. It serves Foreman's personal access token API at foremanPATPath
// itself (a user creates, lists and revokes their own tokens); every other
// request reaches api. Errors in Foreman's dialect.
func (p *Presets) Satellite(api http.Handler) http.Handler {
	signed := oauth1.New(oauth1.Config{Consumers: p.stores.Consumers, Nonces: p.stores.Nonces, Users: p.stores.Users,
		UserHeader: "FOREMAN-USER", BodyHash: oauth1.BodyHashIgnore, Env: p.opts.Env})
	pats := basic.New(basic.Config{Passwords: p.passwords, Tokens: p.tokens.PATs()})
	// A 401 challenges with Basic alone. Foreman itself sends no challenge;
	// clients that wait for one pick a scheme from it: Ansible's uri module
	// (and urllib with a digest handler) fails when the first is OAuth, and
	// wget takes the last scheme that is not Basic. OAuth 1 clients sign
	// every request unasked.
	chain := auth.WithChallenges(auth.Chain(pats, signed), auth.ChallengesOf(pats)...)
	return p.middleware("satellite", chain, ForemanDialect(), p.withForemanPATs(api))
}

// OVirt serves oVirt/RHV's face under OVirtPrefix: the SSO token endpoint
// (password grant, scope ovirt-app-api, applied when a client sends none,
// errors in oVirt's shape), the API under OVirtPrefix+"api" with bearer
// tokens (which must carry scope ovirt-app-api: a token from another face
// gets 403 insufficient_scope), HTTP Basic with user@internal logins (realm
// RESTAPI) and Prefer: persistent-auth sessions, RFC 7009 revocation at
// oVirtRevokePath and RFC 7662 introspection (for Stores.Clients) at
// oVirtIntrospectPath, and, with Options.CA, the CA at pki-resource. Mount it at OVirtPrefix; serve CA() at /ca.crt too
// for libgovirt.
func (p *Presets) OVirt(api http.Handler) http.Handler {
	mux := route.New()
	mux.Handle(OVirtTokenPath, oauth2.NewTokenEndpoint(oauth2.EndpointConfig{Tokens: p.tokens, Passwords: p.passwords,
		Scopes: []string{OVirtScope}, RequireScope: true, DefaultScope: []string{OVirtScope},
		ErrorCodeField: oVirtErrorCodeField, Env: p.opts.Env}))
	sessions := session.New(session.Config{Store: p.stores.Sessions, Users: p.stores.Users, Path: OVirtPrefix + "api",
		Tokens: p.tokens, Certs: p.stores.Certs, Env: p.opts.Env},
		auth.Chain(oauth2.NewBearer(oauth2.BearerConfig{Verifier: p.access, Realm: oVirtRealm}),
			basic.New(basic.Config{Passwords: p.passwords, Realm: oVirtRealm, Domains: []string{OVirtDomain}})))
	manage := oauth2.EndpointConfig{Tokens: p.tokens, Passwords: p.passwords, Env: p.opts.Env}
	mux.Handle(oVirtRevokePath, oauth2.NewRevocationEndpoint(manage)) // whoever holds a token may revoke it
	manage.Clients = p.stores.Clients
	mux.Handle(oVirtIntrospectPath, oauth2.NewIntrospectionEndpoint(manage))
	protected := p.middleware("ovirt", sessions, nil, api, bearerScope(oVirtRealm, OVirtScope))
	mux.Handle(OVirtPrefix+"api", protected)
	mux.Handle(OVirtPrefix+"api/", protected)
	if p.opts.CA != nil {
		mux.Handle(OVirtPKIPath, mtls.PKIResource{CA: p.opts.CA.Cert})
	}
	return mux
}

// OAuthMetadata serves RFC 8414's metadata for oVirt's SSO endpoints;
// mount it at OAuthMetadataPath.
func (p *Presets) OAuthMetadata() http.Handler {
	m := oauth2.Metadata{Issuer: p.opts.ExternalURL, TokenPath: OVirtTokenPath, RevocationPath: oVirtRevokePath, Scopes: []string{OVirtScope}}
	if p.stores.Clients != nil {
		m.IntrospectionPath = oVirtIntrospectPath
	}
	return m
}

// CA serves the cluster CA certificate as PEM (libgovirt fetches it from
// /ca.crt); it answers 404 without Options.CA.
func (p *Presets) CA() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.opts.CA == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		_, _ = w.Write(p.opts.CA.CertPEM())
	})
}

// Flocker serves Flocker's face under FlockerPrefix: client certificates
// signed by Options.CA, the user from the CN (user-<name>), the OU bound to
// the cluster, revoked serials and unknown or disabled users refused. The
// server's TLS configuration must ask for client certificates
// (mtls.ServerTLSConfig).
func (p *Presets) Flocker(api http.Handler) http.Handler {
	cfg := mtls.Config{Revoked: p.stores.Certs, Users: p.stores.Users, Env: p.opts.Env}
	if p.opts.CA != nil {
		cfg.ClusterID = p.opts.CA.ClusterID
	}
	return p.middleware("flocker", mtls.New(cfg), nil, api)
}

// SelfServicePrefix is where SelfService expects to be mounted.
const SelfServicePrefix = "/ui/"

// SelfService is the page on which users manage their own personal access
// tokens (package selfservice) over the faces' token service, password
// pipeline and session store. Mount it at SelfServicePrefix.
func (p *Presets) SelfService() http.Handler {
	return selfservice.New(selfservice.Config{Tokens: p.tokens, Passwords: p.passwords, Users: p.stores.Users,
		Sessions: p.stores.Sessions, Prefix: SelfServicePrefix, Env: p.opts.Env})
}
