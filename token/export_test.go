package token

import "github.com/gatehouse/gatehouse/internal/certbind"

// For the external tests: what parse answers for a malformed token and
// for a mistyped one.
var (
	ErrFormat   = errFormat
	ErrChecksum = errChecksum
)

// HashSecret is s's stored hash of secret, for the external tests.
func (s *Service) HashSecret(secret string) string { return s.hashSecret(secret) }

// Generate, Parse and Thumbprint, for the external tests.
var (
	Generate   = generate
	Parse      = parse
	Thumbprint = certbind.Thumbprint
)
