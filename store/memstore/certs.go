package memstore

import (
	"context"

	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/certserial"
)

var _ stores.CertRevocations = (*memStore)(nil)

// CertRevoked implements stores.CertRevocations. A serial that does not
// parse is an error, never "not revoked".
func (s *memStore) CertRevoked(_ context.Context, serial string) (bool, error) {
	n, err := certserial.Normalize(serial)
	if err != nil {
		return false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.revokedCerts[n], nil
}

// RevokeCert adds a certificate serial to the deny-list, in any form
// certserial.Normalize reads (e.g. openssl x509 -serial's output); a serial
// that does not parse is refused.
func (s *memStore) RevokeCert(_ context.Context, serial string) error {
	n, err := certserial.Normalize(serial)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revokedCerts == nil {
		s.revokedCerts = map[string]bool{}
	}
	s.revokedCerts[n] = true
	return nil
}
