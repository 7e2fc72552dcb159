package memstore_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/store/storetest"
)

func TestConformance(t *testing.T) {
	s := memstore.New()
	storetest.Run(t, storetest.Backend{Users: s, Rules: s, Tokens: s, Sessions: s, Consumers: s, Clients: s, Nonces: s, Certs: s, Failures: s})
}
