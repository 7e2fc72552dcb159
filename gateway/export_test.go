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
