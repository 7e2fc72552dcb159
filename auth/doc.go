// Package auth is the core of gatehouse: the Identity a request proves, the
// Authenticator contract every scheme implements, the Chain that composes
// schemes, the Policy that authorizes (including an xCAT-style rule table), the
// Middleware that ties them to net/http, the Responders that render failures in
// the dialects existing clients parse (RFC 9457 problem details, xCAT,
// Foreman). The records and store interfaces live in auth/stores, the one
// password pipeline (verify, cache, throttle, bound the hashing) in
// auth/pwcheck.
//
// auth imports no scheme package; schemes (basic, token, oauth1, oauth2,
// session, mtls) import auth.
package auth
