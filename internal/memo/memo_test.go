package memo

import (
	"fmt"
	"sync"
	"testing"
)

func TestGetBuildsOnceAndShares(t *testing.T) {
	m := New[string, *int](10)
	builds := 0
	mk := func() *int { builds++; v := builds; return &v }
	a, b := m.Get("k", mk), m.Get("k", mk)
	if a != b || builds != 1 {
		t.Fatalf("two gets of one key: %p %p after %d builds; want one shared value", a, b, builds)
	}
	if c := m.Get("other", mk); c == a || builds != 2 {
		t.Fatalf("another key shared the value or was not built (%d builds)", builds)
	}
}

func TestBounded(t *testing.T) {
	m := New[int, int](100)
	for i := range 1000 {
		if got := m.Get(i, func() int { return i * 2 }); got != i*2 {
			t.Fatalf("Get(%d) = %d", i, got)
		}
	}
	n := 0
	m.m.Load().Range(func(any, any) bool { n++; return true })
	if n > 100 {
		t.Fatalf("%d entries held, bound 100", n)
	}
	if got := m.Get(999, func() int { return -1 }); got != 999*2 {
		t.Fatalf("the newest entry was dropped: %d", got)
	}
}

func TestConcurrentGetsAgree(t *testing.T) {
	m := New[int, *string](8) // small: starts over often while others read
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := (i + g) % 20
				v := m.Get(k, func() *string { s := fmt.Sprint(k); return &s })
				if *v != fmt.Sprint(k) {
					t.Errorf("Get(%d) = %q", k, *v)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func ExampleMap() {
	fingerprints := New[string, string](4096)
	fp := func(cert string) string {
		return fingerprints.Get(cert, func() string { return fmt.Sprintf("sha256:%x", len(cert)) }) // the costly part, once
	}
	fmt.Println(fp("alice.crt"), fp("alice.crt"))
	// Output: sha256:9 sha256:9
}
