package auth

import (
	"context"
	"slices"
	"time"
)

// Scheme names used in Identity.Scheme by the packages of this module.
const (
	SchemeBasic   = "basic"
	SchemeQuery   = "query"
	SchemeToken   = "token"
	SchemePAT     = "pat"
	SchemeOAuth1  = "oauth1"
	SchemeOAuth2  = "oauth2"
	SchemeSession = "session"
	SchemeMTLS    = "mtls"
)

// Identity is who a request proved to be. An Authenticator builds it; nothing
// mutates it afterwards, so it may be shared between goroutines. Treat the
// slices and the map as read-only.
type Identity struct {
	User    string            // login name, e.g. "wsuser"
	Domain  string            // e.g. oVirt's profile "internal"; empty when unused
	Groups  []string          // group names, used by policy subjects "group:NAME"
	Scheme  string            // the scheme that proved it: SchemeBasic, SchemeToken, …
	Scopes  []string          // OAuth 2 / token scopes
	Expires time.Time         // when the proof lapses; zero if never
	Attrs   map[string]string // small extras: "token_id", "consumer_key", "cert_serial", …
}

// Login is the user name qualified by the domain ("admin@internal"), or the
// bare user name when there is no domain.
func (id *Identity) Login() string {
	if id.Domain == "" {
		return id.User
	}
	return id.User + "@" + id.Domain
}

// InGroup reports whether the identity is a member of group.
func (id *Identity) InGroup(group string) bool { return slices.Contains(id.Groups, group) }

// HasScope reports whether the identity carries scope.
func (id *Identity) HasScope(scope string) bool { return slices.Contains(id.Scopes, scope) }

// reqState is what Middleware keeps about one request in its context: one
// value, put there once, so that a request costs one context copy. It is
// itself the context node that carries it (withState): one allocation
// where context.WithValue and the value took two.
type reqState struct {
	context.Context           // the parent
	plain           bool      // over plain HTTP, where credentials are refused (RefusePlainHTTP)
	decided         bool      // an earlier scheme of a Chain has authenticated it (Decided)
	id              *Identity // who it is, once allowed
}

// Value answers stateKey with the state itself, and every other key as
// the parent does.
func (st *reqState) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return st
	}
	return st.Context.Value(key)
}

type stateKey struct{}

// withState makes st the child of ctx that carries it. st must be new: a
// state already in a context chain is put into another with
// context.WithValue.
func withState(ctx context.Context, st *reqState) context.Context {
	st.Context = ctx
	return st
}

func stateOf(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// WithIdentity returns a copy of ctx that carries id.
func WithIdentity(ctx context.Context, id *Identity) context.Context {
	return withState(ctx, &reqState{id: id})
}

// IdentityFrom returns the Identity that Middleware put into ctx, and false
// when the request is anonymous (Optional mode) or did not pass Middleware.
func IdentityFrom(ctx context.Context) (*Identity, bool) {
	if st := stateOf(ctx); st != nil && st.id != nil {
		return st.id, true
	}
	return nil, false
}
