// Package prefer parses HTTP Prefer headers (RFC 7240) for oVirt's
// persistent-auth, new-auth and csrf-protection preferences.
package prefer

import (
	"strings"
)

// Preferences are the preferences of a request's Prefer headers (RFC 7240),
// token names in lower case mapped to their values ("" when none).
type Preferences map[string]string

// Has reports whether the preference token was given.
func (p Preferences) Has(token string) bool { _, ok := p[token]; return ok }

// MaxBytes bounds what Parse reads.
const MaxBytes = 4096

// Parse parses Prefer header values per RFC 7240 §2: a comma-separated
// list of preferences, each token[=value] followed by ;-separated
// parameters (ignored here); values may be quoted strings. Several Prefer
// headers are one list. The first occurrence of a token wins (§2: "the
// first instance is used"). Malformed entries are skipped, not fatal: a
// server must ignore preferences it does not understand.
func Parse(values []string) Preferences {
	prefs := Preferences{}
	total := 0
	for _, v := range values {
		total += len(v)
		if total > MaxBytes {
			break
		}
		for _, item := range splitOutsideQuotes(v, ',') {
			pref, _, _ := strings.Cut(item, ";") // parameters are not used
			name, value, hasValue := strings.Cut(pref, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" || !isToken(name) {
				continue
			}
			if hasValue {
				value = unquote(strings.TrimSpace(value))
			}
			if _, seen := prefs[name]; !seen {
				prefs[name] = value
			}
		}
	}
	return prefs
}

// Prefers reports whether the Prefer header values carry token (lower case),
// without building the whole map: the per-request fast path.
func Prefers(values []string, token string) bool {
	for _, v := range values {
		if len(v) > MaxBytes {
			v = v[:MaxBytes]
		}
		inQuote, escaped, start := false, false, 0
		for i := 0; i <= len(v); i++ {
			if i < len(v) {
				c := v[i]
				switch {
				case escaped:
					escaped = false
					continue
				case inQuote && c == '\\':
					escaped = true
					continue
				case c == '"':
					inQuote = !inQuote
					continue
				case c != ',' || inQuote:
					continue
				}
			}
			item := v[start:i]
			start = i + 1
			if j := strings.IndexAny(item, ";="); j >= 0 {
				item = item[:j]
			}
			if strings.EqualFold(strings.TrimSpace(item), token) {
				return true
			}
		}
	}
	return false
}

// splitOutsideQuotes splits s on sep, ignoring separators inside "…".
func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	inQuote, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case inQuote && c == '\\':
			escaped = true
		case c == '"':
			inQuote = !inQuote
		case c == sep && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	var b strings.Builder
	for i := 1; i < len(v)-1; i++ {
		if v[i] == '\\' && i+1 < len(v)-1 {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
