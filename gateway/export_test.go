package gateway

// For the external tests.
var (
	ParseCertHeader      = parseCertHeader
	Sign                 = sign
	CredentialHeaders    = credentialHeaders
	CredentialCookies    = credentialCookies
	UpstreamURIHeader    = upstreamURIHeader
	UpstreamCookieHeader = upstreamCookieHeader
	ErrUnsigned          = errUnsigned
)

// Identity is what the identity headers say, for the external tests.
type Identity = headerIdentity
