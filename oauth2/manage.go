package oauth2

import (
	"encoding/json"
	"errors"
	"github.com/gatehouse/gatehouse/internal/authlog"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/token"
)

// revocationEndpoint is RFC 7009's token revocation: a client (or, without
// a client store, anyone holding the token) revokes an access, refresh or
// personal access token by its value; a refresh token takes its whole grant
// with it. Unknown and malformed tokens get 200, as the RFC says, so the
// answer tells nothing about them.
type revocationEndpoint struct{ e *tokenEndpoint }

// NewRevocationEndpoint serves revocation with cfg's token service and
// clients (Passwords is not needed); with Clients set, a client must
// authenticate (RequireClient) and may revoke only the tokens issued to it
// (RFC 7009 §2.1): not another client's, not a token issued to no client.
func NewRevocationEndpoint(cfg EndpointConfig) http.Handler {
	return &revocationEndpoint{e: newEndpoint(cfg)}
}

// ServeHTTP implements http.Handler.
func (rv *revocationEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var noClient *auth.Error
	if rv.e.cfg.Clients != nil {
		noClient = errf(codeInvalidClient, "client authentication required")
	}
	secret, client, fail, ok := rv.e.tokenRequest(w, r, noClient)
	if !ok {
		return
	}
	clientID := ""
	if client != nil {
		clientID = client.ID
	}
	switch rerr := rv.e.cfg.Tokens.RevokeSecret(r.Context(), secret, clientID); {
	case rerr == nil, errors.Is(rerr, stores.ErrNotFound):
	case errors.Is(rerr, token.ErrOtherClient):
		fail(errf(codeUnauthorizedClient, "the token was issued to another client"))
		return
	default:
		fail(unavailable("cannot revoke now", rerr))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// introspectionEndpoint is RFC 7662's token introspection for resource
// servers elsewhere. Callers must authenticate as a confidential client
// (one with a secret) of cfg.Clients: public clients get 401, and without
// a client store every request is refused. An
// inactive token (unknown, expired, revoked, its owner disabled) is
// {"active":false} and nothing else.
type introspectionEndpoint struct{ e *tokenEndpoint }

// NewIntrospectionEndpoint serves introspection with cfg's token service
// and clients.
func NewIntrospectionEndpoint(cfg EndpointConfig) http.Handler {
	return &introspectionEndpoint{e: newEndpoint(cfg)}
}

// introspection is RFC 7662 §2.2's answer.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Sub       string `json:"sub,omitempty"`
	// Cnf is RFC 8705 §3.2's confirmation of a certificate-bound token.
	Cnf map[string]string `json:"cnf,omitempty"`
}

// ServeHTTP implements http.Handler.
func (ie *introspectionEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	noClient := errf(codeInvalidClient, "introspection is for authenticated clients")
	noClient.HTTPStatus = http.StatusUnauthorized
	secret, client, fail, ok := ie.e.tokenRequest(w, r, noClient)
	if !ok {
		return
	}
	if client.SecretHash == "" {
		// RFC 7662 §2.1: a public client proves nothing about itself, and
		// would learn who holds any token it found.
		pub := errf(codeInvalidClient, "introspection is for confidential clients: a public client cannot authenticate")
		pub.HTTPStatus = http.StatusUnauthorized
		fail(pub)
		return
	}
	out := introspection{}
	if id, t, ok := ie.inspect(r, secret); ok {
		out = introspection{Active: true, Scope: strings.Join(id.Scopes, " "), ClientID: t.ClientID, Username: id.Login(),
			TokenType: "Bearer", Sub: id.Login(), Iat: t.Created.Unix()}
		if !id.Expires.IsZero() {
			out.Exp = id.Expires.Unix()
		}
		if t.Kind == stores.TokenRefresh {
			out.TokenType = "refresh_token"
		}
		if t.CertThumbprint != "" {
			out.Cnf = map[string]string{"x5t#S256": t.CertThumbprint}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// inspect returns the identity and record of an active token.
func (ie *introspectionEndpoint) inspect(r *http.Request, secret string) (*auth.Identity, *stores.Token, bool) {
	svc := ie.e.cfg.Tokens
	t, err := svc.Lookup(r.Context(), secret)
	if err != nil {
		return nil, nil, false
	}
	prefix := token.PrefixAccess
	switch t.Kind {
	case stores.TokenPAT:
		prefix = token.PrefixPAT
	case stores.TokenRefresh:
		prefix = token.PrefixRefresh
	}
	id, err := svc.Verify(r.Context(), secret, prefix, auth.SchemeOAuth2)
	if err != nil {
		return nil, nil, false
	}
	return id, t, true
}

// Metadata serves RFC 8414's authorization server metadata (at
// /.well-known/oauth-authorization-server) so that clients can discover the
// endpoints. Endpoint paths are made absolute with the issuer. Set Issuer
// (the server's external URL): an empty one is https:// and the request's
// Host, which the client chose, so that answer is never cacheable.
type Metadata struct {
	Issuer                                       string
	TokenPath, RevocationPath, IntrospectionPath string
	Scopes                                       []string
	RefreshTokens                                bool // advertise the refresh_token grant
}

// ServeHTTP implements http.Handler.
func (m Metadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	issuer, cache := strings.TrimSuffix(m.Issuer, "/"), "public, max-age=3600"
	if issuer == "" {
		issuer, cache = "https://"+r.Host, "no-store"
	}
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		return strings.TrimSuffix(issuer, "/") + p
	}
	grants := []string{"password"}
	if m.RefreshTokens {
		grants = append(grants, "refresh_token")
	}
	auths := []string{"client_secret_basic", "client_secret_post", "none"}
	doc := map[string]any{
		"issuer":                                issuer,
		"token_endpoint":                        abs(m.TokenPath),
		"grant_types_supported":                 grants,
		"response_types_supported":              []string{}, // no authorization endpoint
		"token_endpoint_auth_methods_supported": auths,
	}
	if len(m.Scopes) > 0 {
		doc["scopes_supported"] = m.Scopes
	}
	if m.RevocationPath != "" {
		doc["revocation_endpoint"] = abs(m.RevocationPath)
		doc["revocation_endpoint_auth_methods_supported"] = auths
	}
	if m.IntrospectionPath != "" {
		doc["introspection_endpoint"] = abs(m.IntrospectionPath)
		doc["introspection_endpoint_auth_methods_supported"] = auths[:2]
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", cache)
	_ = json.NewEncoder(w).Encode(doc)
}

// tokenRequest reads a revocation or introspection request: readRequest's
// checks, the client (required when noClient, the refusal to give without
// one, is set) and the token parameter. When ok is false it has answered;
// fail answers later refusals the same way.
func (e *tokenEndpoint) tokenRequest(w http.ResponseWriter, r *http.Request, noClient *auth.Error) (secret string, client *stores.Client, fail func(*auth.Error), ok bool) {
	basicUsed, user := false, ""
	fail = func(err *auth.Error) {
		authlog.Failure(e.cfg.Env.Audit, r, err)
		errorResponder{BasicChallenge: basicUsed}.Error(w, r, err)
	}
	tr, client, err := e.readRequest(w, r, &basicUsed, &user)
	switch {
	case err != nil:
	case client == nil && noClient != nil:
		err = noClient
	case tr.Token == "":
		err = errf(codeInvalidRequest, "missing token")
	}
	if err != nil {
		fail(err)
		return "", nil, nil, false
	}
	return tr.Token, client, fail, true
}
