// Package auth is the core of gatehouse: the Identity a request proves, the
// Authenticator contract every scheme implements, the Chain that composes
// schemes, the Policy that authorizes (including an xCAT-style rule table), the
// Middleware that ties them to net/http, the Responders that render failures in
// the dialects existing clients parse (RFC 9457 problem details, xCAT,
// Foreman), the store interfaces and record types that backends implement,
// and the PasswordVerifier that checks a user's password against a UserStore.
//
// auth imports no scheme package; schemes (basic, token, oauth1, oauth2,
// session, mtls) import auth.
package auth
