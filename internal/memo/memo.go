// Package memo remembers values that are costly to build and never change
// for their key (a certificate's fingerprint, a token's identity
// attributes), so that the requests that repeat them share one copy. It is
// read-mostly and safe for concurrent use; its size is bounded: when full it
// starts over rather than grow.
package memo

import (
	"sync"
	"sync/atomic"
)

// Map is a bounded, concurrent memo from K to V. The zero value is not
// usable; make one with New. Values must be immutable once stored: every
// caller that asks for the key gets the same one.
type Map[K comparable, V any] struct {
	max   int64
	m     atomic.Pointer[sync.Map]
	count atomic.Int64
}

// New returns an empty Map that holds at most max entries.
func New[K comparable, V any](max int) *Map[K, V] {
	m := &Map[K, V]{max: int64(max)}
	m.m.Store(new(sync.Map))
	return m
}

// Get returns the value remembered for k, building it with make (and
// remembering it) the first time. Two callers racing on a new key may both
// build it; one value wins and is remembered.
func (m *Map[K, V]) Get(k K, make func() V) V {
	cur := m.m.Load()
	if v, ok := cur.Load(k); ok {
		return v.(V)
	}
	v := make()
	if m.count.Add(1) > m.max { // start over rather than grow
		cur = new(sync.Map)
		m.m.Store(cur)
		m.count.Store(1)
	}
	actual, _ := cur.LoadOrStore(k, v)
	return actual.(V)
}
