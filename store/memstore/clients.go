package memstore

import (
	"context"
	"slices"

	"github.com/gatehouse/gatehouse/auth/stores"
)

var _ stores.ClientStore = (*memStore)(nil)

// Client implements stores.ClientStore.
func (s *memStore) Client(_ context.Context, id string) (*stores.Client, error) {
	if !stores.Storable(id) {
		return nil, stores.ErrNotFound
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.clients[id]
	if !ok {
		return nil, stores.ErrNotFound
	}
	return c, nil
}

// PutClient creates or replaces an OAuth 2 client.
func (s *memStore) PutClient(_ context.Context, c stores.Client) error {
	if !stores.Storable(c.ID) {
		return stores.ErrInvalid
	}
	c.Scopes, c.Grants = slices.Clone(c.Scopes), slices.Clone(c.Grants)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients == nil {
		s.clients = map[string]*stores.Client{}
	}
	s.clients[c.ID] = &c
	return nil
}
