// Package gateway puts gatehouse in front of a service it does not link
// into. It has three parts:
//
//   - New: a reverse proxy to run behind gatehouse's middleware (a preset
//     face or auth.Middleware). It strips every credential the upstream
//     must not see and any identity header a client sent, and tells the
//     upstream who the caller is in headers (X-Gatehouse-User, -Groups,
//     -Scheme), optionally signed with HMAC-SHA256.
//   - ForwardAuth: an endpoint for nginx's auth_request, Traefik's
//     ForwardAuth and Envoy's HTTP ext_authz. It rebuilds the original
//     request from the proxy's headers (so an OAuth 1 signature is checked
//     against the original URL), runs it through the same faces, and
//     answers 200 with the identity headers, or the face's 401/403/429.
//   - Verifier: the few lines an upstream written in Go needs to check the
//     signed identity headers.
//
// Proxies describes which addresses may speak for a client: only requests
// from them may say "this arrived over TLS", name the original URL, or pass
// a client certificate that a TLS-terminating proxy verified.
package gateway
