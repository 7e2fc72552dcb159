package token

// For the external tests: what Parse answers for a malformed token and
// for a mistyped one.
var (
	ErrFormat   = errFormat
	ErrChecksum = errChecksum
)
