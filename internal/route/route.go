// Package route is an http.ServeMux that answers the common request
// without the ServeMux's matching cost: a request for a clean, unescaped
// path that only literal patterns ("/a/b", "/a/", "GET /a") can match is
// dispatched from a map and a short prefix list, without allocating; every
// other request (a path to clean or redirect, a wildcard's or another
// method's territory, CONNECT, a 404 or 405) is served by the ServeMux the
// same patterns are registered in, so the choice of handler is always the
// ServeMux's. Patterns the ServeMux reads otherwise than as written (a
// host, an escape, an empty segment, Go 1.21's routing under GODEBUG) turn
// the fast path off for the whole Mux.
//
// A prefix pattern costs the ServeMux a match slice and, for a path without
// a trailing slash, a second match to look for a redirect: the reference
// server's faces nest two or three of them per request.
package route

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Mux routes like http.ServeMux (see the package comment). Register every
// pattern before serving; registration is not safe beside ServeHTTP.
type Mux struct {
	mux *http.ServeMux
	// exact and prefix hold the literal patterns' handlers by path; prefix
	// is kept longest first.
	exact  map[string]*handlers
	prefix []prefixRoute
	// slashed is every literal path that ends in a slash, without it: the
	// ServeMux redirects "/a" to "/a/" when "/a/" is registered and "/a"
	// is not.
	slashed map[string]bool
	// other is what the patterns the fast path does not decide (another
	// method, a wildcard) may match: their literal path, exact or as a
	// prefix. A request there goes to the ServeMux.
	otherExact  map[string]bool
	otherPrefix []string
	// slowOnly is set once a pattern is one the fast path cannot read as
	// the ServeMux does (Handle says which): the ServeMux then decides
	// everything.
	slowOnly bool
}

// handlers are one literal path's handlers: for any method, and for GET
// (and HEAD).
type handlers struct{ any, get http.Handler }

type prefixRoute struct {
	path string
	h    *handlers
}

// New returns an empty Mux.
func New() *Mux {
	return &Mux{mux: http.NewServeMux(), exact: map[string]*handlers{}, slashed: map[string]bool{}, otherExact: map[string]bool{}}
}

// Handle registers h for pattern, in http.ServeMux's syntax; it panics
// where the ServeMux does (a malformed or conflicting pattern).
func (m *Mux) Handle(pattern string, h http.Handler) {
	m.mux.Handle(pattern, h) // first: it panics on what it refuses
	// Split as the ServeMux does: the method up to the first space or tab
	// (" GET /a" is a host pattern there, with an empty method).
	method, rest := "", pattern
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		method, rest = pattern[:i], strings.TrimLeft(pattern[i+1:], " \t")
	}
	// A host pattern outranks every host-less one; the ServeMux decodes a
	// pattern's escapes ("/%61" is "/a") and reads an empty segment
	// ("/a//b") as a wildcard; and with GODEBUG=httpmuxgo121=1 it routes as
	// Go 1.21 did. In each case the ServeMux decides every request.
	if !strings.HasPrefix(rest, "/") || strings.ContainsRune(rest, '%') || strings.Contains(rest, "//") || !modernServeMux() {
		m.slowOnly = true
		return
	}
	if i := strings.IndexByte(rest, '{'); i >= 0 {
		// Without its slash: "/a/{x...}" matches "/a/" and so redirects "/a".
		m.otherPrefix = append(m.otherPrefix, strings.TrimSuffix(rest[:i], "/"))
		return
	}
	if method != "" && method != http.MethodGet {
		if strings.HasSuffix(rest, "/") {
			m.otherPrefix = append(m.otherPrefix, strings.TrimSuffix(rest, "/"))
		} else {
			m.otherExact[rest] = true
		}
		return
	}
	if strings.HasSuffix(rest, "/") {
		m.slashed[strings.TrimSuffix(rest, "/")] = true
	}
	var hs *handlers
	if !strings.HasSuffix(rest, "/") {
		hs = m.exact[rest]
		if hs == nil {
			hs = &handlers{}
			m.exact[rest] = hs
		}
	} else {
		i := slices.IndexFunc(m.prefix, func(p prefixRoute) bool { return p.path == rest })
		if i < 0 {
			m.prefix = append(m.prefix, prefixRoute{path: rest, h: &handlers{}})
			slices.SortStableFunc(m.prefix, func(a, b prefixRoute) int { return len(b.path) - len(a.path) })
			i = slices.IndexFunc(m.prefix, func(p prefixRoute) bool { return p.path == rest })
		}
		hs = m.prefix[i].h
	}
	if method == http.MethodGet {
		hs.get = h
	} else {
		hs.any = h
	}
}

// modernServeMux reports whether the ServeMux routes by Go 1.22's rules
// (methods and wildcards), which the fast path follows, rather than Go
// 1.21's (GODEBUG=httpmuxgo121=1, also settable by a main package's
// //go:debug line): asked once of a ServeMux itself.
var modernServeMux = sync.OnceValue(func() (modern bool) {
	defer func() {
		if recover() != nil {
			modern = false
		}
	}()
	mux := http.NewServeMux()
	mux.Handle("/", http.NotFoundHandler())
	mux.Handle("GET /a", http.NotFoundHandler())
	_, pattern := mux.Handler(&http.Request{Method: http.MethodGet, Host: "h", URL: &url.URL{Path: "/a"}, Header: http.Header{}})
	return pattern == "GET /a"
})

// HandleFunc registers f for pattern.
func (m *Mux) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
}

// ServeHTTP dispatches r to the handler http.ServeMux would choose.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := m.fast(r); h != nil {
		h.ServeHTTP(w, r)
		return
	}
	m.mux.ServeHTTP(w, r)
}

// fast is the handler of a request the literal patterns decide alone, or
// nil.
func (m *Mux) fast(r *http.Request) http.Handler {
	p := r.URL.Path
	if m.slowOnly || r.Method == http.MethodConnect || !clean(p) || r.URL.EscapedPath() != p {
		return nil
	}
	if m.otherExact[p] {
		return nil
	}
	for _, o := range m.otherPrefix {
		if strings.HasPrefix(p, o) {
			return nil
		}
	}
	if hs := m.exact[p]; hs != nil {
		return hs.pick(r.Method)
	}
	if !strings.HasSuffix(p, "/") && m.slashed[p] {
		return nil // the ServeMux's redirect to p+"/"
	}
	for _, pr := range m.prefix {
		if strings.HasPrefix(p, pr.path) {
			return pr.h.pick(r.Method)
		}
	}
	return nil
}

// pick is the handler for method, or nil where a less specific pattern or
// a 405 may be the ServeMux's answer.
func (hs *handlers) pick(method string) http.Handler {
	if hs.get != nil && (method == http.MethodGet || method == http.MethodHead) {
		return hs.get
	}
	return hs.any
}

// clean reports whether the ServeMux would leave p as it is: rooted, no
// empty, "." or ".." segment (a trailing slash is kept).
func clean(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	start := 1 // of the segment being read
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		if seg := p[start:i]; seg == "." || seg == ".." || (seg == "" && i < len(p)) {
			return false
		}
		start = i + 1
	}
	return true
}
