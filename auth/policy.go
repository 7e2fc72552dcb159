package auth

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/pathcheck"
)

// Policy decides whether an authenticated (or, in Optional mode, anonymous)
// request may proceed. id is nil for an anonymous request. A denial is an
// error; Middleware answers it with 403 (401 when the request is anonymous).
type Policy interface {
	Authorize(ctx context.Context, id *Identity, r *http.Request) error
}

// PolicyFunc adapts a function to Policy.
type PolicyFunc func(ctx context.Context, id *Identity, r *http.Request) error

// Authorize calls f.
func (f PolicyFunc) Authorize(ctx context.Context, id *Identity, r *http.Request) error {
	return f(ctx, id, r)
}

// Policies combines policies: a request must be allowed by every one, tried
// in order; the first denial is the answer.
func Policies(ps ...Policy) Policy {
	return PolicyFunc(func(ctx context.Context, id *Identity, r *http.Request) error {
		for _, p := range ps {
			if err := p.Authorize(ctx, id, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// Verdict is what a Rule decides: exactly Allow or Deny.
type Verdict string

// The only two verdicts. Any other spelling ("disallow", "Allow ", "") is
// invalid and a rule carrying it denies: unlike xCAT, whose substring test
// lets a rule spelled "disallow" grant access.
const (
	Allow Verdict = "allow"
	Deny  Verdict = "deny"
)

// Rule is one row of a rule table, modelled on xCAT's policy table.
type Rule struct {
	// Priority orders the rules: the lowest number is tried first. Decimal
	// numbers are allowed, as xCAT's "1.2".
	Priority float64
	// Subject is who the rule is about: a login name ("wsuser" or
	// "admin@internal"), "group:NAME", "*" for any authenticated identity, or
	// "" for anyone including anonymous requests.
	Subject string
	// Methods the rule applies to (case-insensitive); empty = every method.
	Methods []string
	// Path is a pattern over the URL path: segments separated by "/", where a
	// segment may use path.Match wildcards ("*", "?", "[a-z]") and a segment
	// "**" matches any number of segments, including none. Empty = every path.
	Path     string
	Verdict  Verdict
	Disabled bool   // a disabled rule is skipped
	Comment  string // free text, as xCAT's comments column
}

// Validate reports a rule that can never work as meant: a verdict other than
// exactly "allow" or "deny", or a malformed path pattern. Stores should refuse
// such rules; RuleTable treats a matching rule with a bad verdict as a denial.
func (r Rule) Validate() error {
	if r.Verdict != Allow && r.Verdict != Deny {
		return fmt.Errorf("auth: rule %s: verdict %q is neither %q nor %q", r.priority(), r.Verdict, Allow, Deny)
	}
	for seg := range strings.SplitSeq(strings.Trim(r.Path, "/"), "/") {
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("auth: rule %s: bad path pattern %q: %v", r.priority(), r.Path, err)
		}
	}
	return nil
}

// priority formats Priority as xCAT shows it ("1", "1.2").
func (r Rule) priority() string { return strconv.FormatFloat(r.Priority, 'f', -1, 64) }

// matches reports whether the rule applies to id making request r, ignoring
// Disabled. The path is matched segment by segment on the escaped path, each
// segment unescaped on its own, as http.ServeMux routes: "%2F" stays inside
// its segment. A HEAD request matches rules for GET (ServeMux serves HEAD
// with GET handlers).
func (r Rule) matches(id *Identity, req *http.Request) bool {
	return r.matchSubject(id) && r.matchMethod(req.Method) && (r.Path == "" || matchSegs(r.Path, requestSegments(req)))
}

func (r Rule) matchSubject(id *Identity) bool {
	switch {
	case r.Subject == "":
		return true
	case id == nil:
		return false
	case r.Subject == "*":
		return true
	case strings.HasPrefix(r.Subject, "group:"):
		return id.InGroup(r.Subject[len("group:"):])
	default:
		return r.Subject == id.User && id.Domain == "" || r.Subject == id.Login()
	}
}

func (r Rule) matchMethod(m string) bool {
	if len(r.Methods) == 0 {
		return true
	}
	for _, x := range r.Methods {
		if strings.EqualFold(x, m) || strings.EqualFold(m, http.MethodHead) && strings.EqualFold(x, http.MethodGet) {
			return true
		}
	}
	return false
}

// matchPath reports whether urlPath matches pattern (see Rule.Path). Leading
// and trailing slashes are ignored on both; an empty pattern matches all.
// Matching takes time linear in the number of segments.
func matchPath(pattern, urlPath string) bool {
	p := strings.Trim(urlPath, "/")
	if p == "" {
		return matchSegs(pattern, func(func(string) bool) {})
	}
	return matchSegs(pattern, strings.SplitSeq(p, "/"))
}

// requestSegments yields the segments of r's escaped path, each unescaped
// on its own, so that an encoded slash never creates a segment.
func requestSegments(r *http.Request) iter.Seq[string] {
	p := strings.Trim(r.URL.EscapedPath(), "/")
	return func(yield func(string) bool) {
		if p == "" {
			return
		}
		for seg := range strings.SplitSeq(p, "/") {
			if u, err := url.PathUnescape(seg); err == nil {
				seg = u
			}
			if !yield(seg) {
				return
			}
		}
	}
}

// matchSegs runs the pattern as a small automaton over the segments: the
// set of pattern positions reachable so far, advanced one segment at a
// time. Time is O(pattern segments × path segments): "**" never backtracks.
func matchSegs(pattern string, segs iter.Seq[string]) bool {
	if pattern == "" {
		return true
	}
	pat := strings.Split(strings.Trim(pattern, "/"), "/")
	if len(pat) == 1 && pat[0] == "" {
		pat = nil
	}
	n := len(pat)
	cur := make([]bool, n+1)
	next := make([]bool, n+1)
	closure := func(set []bool) { // "**" may match no segment
		for i := 0; i < n; i++ {
			if set[i] && pat[i] == "**" {
				set[i+1] = true
			}
		}
	}
	cur[0] = true
	closure(cur)
	for seg := range segs {
		clear(next)
		any := false
		for i := 0; i < n; i++ {
			if !cur[i] {
				continue
			}
			if pat[i] == "**" {
				next[i], any = true, true
				continue
			}
			if matchSegment(pat[i], seg) {
				next[i+1], any = true, true
			}
		}
		if !any {
			return false
		}
		closure(next)
		cur, next = next, cur
	}
	return cur[n]
}

// matchSegment matches one segment: literally when the pattern has no
// wildcard (the common case, and cheap), else with path.Match.
func matchSegment(pat, seg string) bool {
	if !strings.ContainsAny(pat, `*?[\`) {
		return pat == seg
	}
	// path.Match's "*" stops at "/", but an escaped slash (%2F) is part of
	// this one segment, as ServeMux's {id} takes it.
	ok, err := path.Match(pat, strings.ReplaceAll(seg, "/", "\x00"))
	return err == nil && ok
}

// checkPath refuses request paths that a policy cannot judge safely: a
// "." or ".." segment (also when escaped as %2e or hidden behind %2F, which
// http.FileServer and path.Clean would resolve after the policy allowed the
// request), an empty segment anywhere in the path ("//", also leading or
// trailing), a segment that is not valid escaping, more than
// pathcheck.MaxSegments segments, an encoded separator inside a segment
// (%2F, %5C or %00: the rules see one segment where Flask, Express or an
// nginx-routed upstream see two), or a path parameter (";", raw or %3B,
// which Java servers strip before they route). Middleware calls it for
// every request and answers 400; allowSeparators (Config.
// AllowEncodedSeparators) lets the last two kinds through for upstreams
// that need them.
func checkPath(r *http.Request, allowSeparators bool) error {
	if p := pathcheck.Problem(r.URL.EscapedPath(), allowSeparators); p != "" {
		return &Error{Reason: ReasonMalformed, Message: "request path " + p}
	}
	return nil
}

// rulesLender is a PolicyStore that can lend its rule table without a
// copy per request (sqlstore, memstore): RuleTable reads it and never
// changes it, where Rules gives each caller a copy of its own.
type rulesLender interface {
	SharedRules(ctx context.Context) ([]Rule, error)
}

// RuleTable is a Policy over the rules of a PolicyStore: enabled rules are
// tried by ascending Priority (ties keep store order), the first rule that
// matches decides, and when none matches the request is denied.
type RuleTable struct {
	Store PolicyStore
}

// Authorize implements Policy. A path the Middleware refuses as malformed is refused here too
// (400), whichever rules there are, except for encoded separators, which
// the Middleware's Config.AllowEncodedSeparators decides.
func (t RuleTable) Authorize(ctx context.Context, id *Identity, r *http.Request) error {
	if err := checkPath(r, true); err != nil {
		return err
	}
	var rules []Rule
	var err error
	if lender, ok := t.Store.(rulesLender); ok {
		rules, err = lender.SharedRules(ctx)
	} else {
		rules, err = t.Store.Rules(ctx)
	}
	if err != nil {
		return &Error{Reason: ReasonUnavailable, Cause: fmt.Errorf("auth: loading policy rules: %w", err)}
	}
	byPriority := func(a, b Rule) int { return cmp.Compare(a.Priority, b.Priority) }
	if !slices.IsSortedFunc(rules, byPriority) { // stores return them sorted: no copy per request then
		rules = slices.Clone(rules)
		slices.SortStableFunc(rules, byPriority)
	}
	user := func() string { // only a refusal names the user
		if id == nil {
			return ""
		}
		return id.Login()
	}
	for _, rule := range rules {
		if rule.Disabled || !rule.matches(id, r) {
			continue
		}
		if rule.Verdict == Allow {
			return nil
		}
		msg := "access denied by policy rule " + rule.priority()
		if rule.Verdict != Deny {
			msg += " (its verdict is not a valid word, so it denies)"
		}
		return &Error{Reason: ReasonForbidden, User: user(), Message: msg}
	}
	return &Error{Reason: ReasonForbidden, User: user(), Message: "no policy rule allows this request"}
}
