package memstore

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
)

var _ auth.CertRevocations = (*Store)(nil)

// CertRevoked implements auth.CertRevocations.
func (s *Store) CertRevoked(_ context.Context, serial string) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.revokedCerts[strings.ToLower(serial)], nil
}

// RevokeCert adds a certificate serial (hex) to the deny-list.
func (s *Store) RevokeCert(_ context.Context, serial string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revokedCerts == nil {
		s.revokedCerts = map[string]bool{}
	}
	s.revokedCerts[strings.ToLower(serial)] = true
	return nil
}
