// Package pathcheck judges whether a request path is one an authorization
// rule can match safely: no dot segments, no empty segments, valid escaping,
// a bounded number of segments, and (unless allowed) no encoded separators
// or path parameters inside a segment. auth's Middleware and RuleTable and
// the gateway's forward-auth endpoints share it.
package pathcheck

import (
	"net/url"
	"strings"
)

// MaxSegments bounds the segments of a request path: a longer one is
// refused.
const MaxSegments = 512

// Problem returns what is wrong with the escaped request path esc (as
// url.URL.EscapedPath gives it), or "" when nothing is. The text completes
// "request path …". allowSeparators lets encoded separators (%2F, %5C,
// %00) and path parameters (;) inside a segment through.
func Problem(esc string, allowSeparators bool) string {
	if strings.Count(esc, "/") > MaxSegments {
		return "has too many segments"
	}
	if strings.Contains(esc, "//") {
		// Leading and trailing ones too: an empty segment means one thing
		// to the rules and another to a handler that collapses slashes.
		return "has an empty segment (//)"
	}
	inner := strings.TrimPrefix(strings.TrimSuffix(esc, "/"), "/")
	if inner == "" {
		return ""
	}
	// The common path has no escapes, no "//" and no segment starting
	// with a dot: nothing to look at segment by segment.
	if !strings.ContainsAny(inner, "%;") && !strings.Contains(inner, "/.") && inner[0] != '.' {
		return ""
	}
	for seg := range strings.SplitSeq(inner, "/") {
		u, err := url.PathUnescape(seg)
		if err != nil {
			return "is not valid escaping"
		}
		if !allowSeparators && strings.ContainsAny(u, "/\\\x00") {
			return "has an encoded separator (%2F, %5C or %00) inside a segment"
		}
		if !allowSeparators && strings.Contains(u, ";") {
			// Tomcat, Undertow and Jetty drop ";params" and then resolve
			// what is left: /api/admin;x=1/x is /api/admin/x upstream,
			// and /pub/..;/admin/x is /admin/x.
			return "has a path parameter (;) inside a segment"
		}
		for part := range strings.SplitSeq(u, "/") { // an escaped %2F hides segments from path.Clean
			if part == "." || part == ".." {
				return "has a dot segment (. or ..)"
			}
		}
	}
	return ""
}
