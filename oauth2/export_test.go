package oauth2

// For the external tests: the token endpoint's and the introspection
// endpoint's JSON answers.
type (
	Response      = tokenResponse
	Introspection = introspection
)
