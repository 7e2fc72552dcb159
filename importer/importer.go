// Package importer brings the accounts and policy of existing deployments
// into a gatehouse store: xCAT's passwd and policy tables (as tabdump
// prints them), Apache's htpasswd files and /etc/shadow. A bad line never
// fails an import: it is skipped and the Report says why, so one run
// reports everything; only unreadable input fails, and then nothing is
// imported. Reports never hold a hash or a password.
//
//	f, _ := os.Open("htpasswd")
//	report, err := importer.Htpasswd(ctx, f, store)
//	fmt.Println(report.Added, report.Skipped)
//
// The CLI's "gatehouse import …" verbs are a thin layer over it.
package importer

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/stores"
)

// Report is what an import did: users added, updated and disabled, rules
// imported, and what was skipped and why.
type Report struct {
	Added, Updated, Disabled int
	Rules                    int
	Skipped                  []Skip
}

// ruleStore is where XCATPolicy writes rules (memstore, sqlstore).
type ruleStore interface {
	auth.PolicyStore
	SetRules(ctx context.Context, rules []auth.Rule) error
}

// XCATPasswd imports xCAT's API users (the passwd table's key "xcat"
// rows) into users; plain passwords are hashed with argon2id, disabled
// rows disable the user.
func XCATPasswd(ctx context.Context, r io.Reader, users stores.UserAdmin) (Report, error) {
	accounts, skips, err := readXCATPasswd(r)
	if err != nil {
		return Report{}, err
	}
	return putAccounts(ctx, users, accounts, skips)
}

// Htpasswd imports the users of an htpasswd file (bcrypt, $apr1$, {SHA},
// crypt hashes gatehouse verifies).
func Htpasswd(ctx context.Context, r io.Reader, users stores.UserAdmin) (Report, error) {
	accounts, skips, err := readColonFile(r, false, nil)
	if err != nil {
		return Report{}, err
	}
	return putAccounts(ctx, users, accounts, skips)
}

// Shadow imports the named logins' hashes from an /etc/shadow file; a
// locked or expired account is disabled, new or existing.
func Shadow(ctx context.Context, r io.Reader, users stores.UserAdmin, logins []string) (Report, error) {
	only := map[string]bool{}
	for _, l := range logins {
		only[l] = true
	}
	accounts, skips, err := readColonFile(r, true, only)
	if err != nil {
		return Report{}, err
	}
	return putAccounts(ctx, users, accounts, skips)
}

// XCATPolicy adds xCAT's policy rows that apply to HTTP to the rules;
// a row whose priority a rule already has is skipped.
func XCATPolicy(ctx context.Context, r io.Reader, rules ruleStore) (Report, error) {
	read, skips, err := readXCATPolicy(r)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Skipped: skips}
	have, err := rules.Rules(ctx)
	if err != nil {
		return rep, err
	}
	taken := map[float64]bool{}
	for _, r := range have {
		taken[r.Priority] = true
	}
	for _, r := range read {
		if taken[r.Priority] {
			rep.Skipped = append(rep.Skipped, Skip{0, "priority " + strconv.FormatFloat(r.Priority, 'f', -1, 64), "a rule with this priority exists already"})
			continue
		}
		taken[r.Priority] = true
		have = append(have, r)
		rep.Rules++
	}
	return rep, rules.SetRules(ctx, have)
}

// putAccounts writes what a reader found.
func putAccounts(ctx context.Context, s stores.UserAdmin, accounts []account, skips []Skip) (Report, error) {
	rep := Report{Skipped: skips}
	for _, a := range accounts {
		if a.lockOnly {
			u, err := s.User(ctx, a.login)
			switch {
			case errors.Is(err, stores.ErrNotFound):
				rep.Skipped = append(rep.Skipped, Skip{a.line, a.login, "locked or disabled, with no password: not created"})
				continue
			case err != nil:
				return rep, err
			}
			if !u.Disabled {
				u.Disabled = true
				if err := s.PutUser(ctx, *u); err != nil {
					return rep, fmt.Errorf("line %d (%s): %w", a.line, a.login, err)
				}
				rep.Disabled++
			}
			continue
		}
		hash := a.hash
		if a.plain != "" {
			var err error
			if hash, err = password.Hash(a.plain); err != nil {
				return rep, err
			}
		}
		u, err := s.User(ctx, a.login)
		switch {
		case errors.Is(err, stores.ErrNotFound):
			u = &stores.User{Name: a.login}
			if i := strings.LastIndexByte(a.login, '@'); i > 0 {
				u.Name, u.Domain = a.login[:i], a.login[i+1:]
			}
			rep.Added++
		case err != nil:
			return rep, err
		default:
			rep.Updated++
		}
		u.PasswordHash = hash
		if a.disabled && !u.Disabled {
			// Locked or expired in the file: disabled, new or existing
			// alike (an unlocked account does not undo a disable made in
			// gatehouse).
			u.Disabled = true
			rep.Disabled++
		}
		if err := s.PutUser(ctx, *u); err != nil {
			return rep, fmt.Errorf("line %d (%s): %w", a.line, a.login, err)
		}
	}
	return rep, nil
}

// The readers below parse what existing deployments keep their accounts and
// policy in. They never fail on a bad line: they skip it and say why, so an
// import reports everything at once; they fail only on unreadable input.

// account is one login read from a file: a hash auth/password accepts, or
// a plain password (xCAT's passwd table may hold one) that the importer
// hashes.
type account struct {
	line     int
	login    string
	hash     string
	plain    string
	disabled bool
	// lockOnly: the file says the account is locked and holds no usable
	// hash (shadow's "*", "!", "!!", an expired account without one, a
	// disabled xCAT row): an existing user is disabled, no user is created.
	lockOnly bool
}

// Skip is a line (or a named entry) not imported, and why.
type Skip struct {
	Line int    // 0 for an entry named on the command line
	Name string // the login or rule it names, when known
	Why  string
}

// String is "line N (name): why", as the CLI reports it.
func (s Skip) String() string {
	if s.Line == 0 {
		return fmt.Sprintf("%s: %s", s.Name, s.Why)
	}
	if s.Name == "" {
		return fmt.Sprintf("line %d: %s", s.Line, s.Why)
	}
	return fmt.Sprintf("line %d (%s): %s", s.Line, s.Name, s.Why)
}

// maxImportLine bounds one line of an imported file.
const maxImportLine = 64 << 10

// xcatTable reads a table as xCAT's tabdump prints it: a "#col1,col2,…"
// header, then CSV rows. It returns the rows as maps by column name.
func xcatTable(r io.Reader, want ...string) ([]map[string]string, []int, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, 256<<20), 64<<10)
	header, err := br.ReadString('\n')
	if err != nil && header == "" {
		return nil, nil, fmt.Errorf("empty file: expected a tabdump header (#%s,…)", strings.Join(want, ","))
	}
	header = strings.TrimSpace(header)
	if !strings.HasPrefix(header, "#") {
		return nil, nil, fmt.Errorf("the first line is not a tabdump header (#%s,…)", strings.Join(want, ","))
	}
	cols := strings.Split(strings.TrimPrefix(header, "#"), ",")
	index := map[string]int{}
	for i, c := range cols {
		index[strings.TrimSpace(c)] = i
	}
	for _, w := range want {
		if _, ok := index[w]; !ok {
			return nil, nil, fmt.Errorf("the header has no %q column (is this the right table?)", w)
		}
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.Comment = '#'
	cr.ReuseRecord = true
	var rows []map[string]string
	var lines []int
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(pe.Err, csv.ErrFieldCount) {
				return rows, lines, fmt.Errorf("line %d: %v", pe.Line+1, pe.Err)
			}
			return rows, lines, err
		}
		row := map[string]string{}
		for name, i := range index {
			if i < len(rec) {
				row[name] = strings.TrimSpace(rec[i])
			}
		}
		rows = append(rows, row)
		lines = append(lines, line+1) // +1: the header was read before the CSV reader
	}
	return rows, lines, nil
}

// xcatDisabled is xCAT's disable column: "1" or "yes" turns a row off.
func xcatDisabled(v string) bool {
	v = strings.ToLower(v)
	return v == "1" || v == "yes" || v == "true"
}

// readXCATPasswd reads `tabdump passwd`. Rows with key "xcat" are the REST
// API's users; other keys (system, ipmi, hmc, …) are device credentials and
// are skipped.
func readXCATPasswd(r io.Reader) ([]account, []Skip, error) {
	rows, lines, err := xcatTable(r, "key", "username", "password")
	var out []account
	var skips []Skip
	for i, row := range rows {
		user, pw := row["username"], row["password"]
		switch {
		case row["key"] != "xcat":
			skips = append(skips, Skip{lines[i], user, fmt.Sprintf("key %q is a device credential, not an API user (only key \"xcat\" is imported)", row["key"])})
		case !validLogin(user):
			skips = append(skips, Skip{lines[i], "", "no usable user name"})
		case xcatDisabled(row["disable"]):
			// A disabled row disables the user, who may exist already.
			out = append(out, account{line: lines[i], login: user, lockOnly: true, disabled: true})
		case pw == "":
			skips = append(skips, Skip{lines[i], user, "no password"})
		case strings.HasPrefix(pw, "$"):
			if password.Format(pw) == "" {
				skips = append(skips, Skip{lines[i], user, "the password hash is in a format gatehouse does not accept"})
				continue
			}
			out = append(out, account{line: lines[i], login: user, hash: pw})
		case len(pw) > password.MaxLength:
			skips = append(skips, Skip{lines[i], user, "the password is too long"})
		default: // xCAT keeps the password itself when cryptmethod is empty
			out = append(out, account{line: lines[i], login: user, plain: pw})
		}
	}
	return out, skips, err
}

// validLogin accepts a login gatehouse can store.
func validLogin(s string) bool {
	return s != "" && len(s) <= 255 && httpx.Printable(s) && !strings.ContainsAny(s, ": \t")
}

// readXCATPolicy reads `tabdump policy`. A row maps to a rule when it
// names no host, commands, noderange, parameters or time (those restrict
// xCAT commands, which have no HTTP equivalent) and its rule is allow,
// accept, deny or disallow.
func readXCATPolicy(r io.Reader) ([]auth.Rule, []Skip, error) {
	rows, lines, err := xcatTable(r, "priority", "name", "rule")
	var out []auth.Rule
	var skips []Skip
	for i, row := range rows {
		name := row["name"]
		prio, perr := strconv.ParseFloat(row["priority"], 64)
		if perr != nil {
			skips = append(skips, Skip{lines[i], name, fmt.Sprintf("priority %q is not a number", row["priority"])})
			continue
		}
		var scoped []string
		for _, c := range []string{"host", "commands", "noderange", "parameters", "time"} {
			if row[c] != "" {
				scoped = append(scoped, c)
			}
		}
		if len(scoped) > 0 {
			skips = append(skips, Skip{lines[i], name, "restricted by " + strings.Join(scoped, ", ") + ", which has no HTTP equivalent"})
			continue
		}
		var verdict auth.Verdict
		switch strings.ToLower(row["rule"]) {
		case "allow", "accept":
			verdict = auth.Allow
		case "deny", "disallow":
			verdict = auth.Deny
		default:
			skips = append(skips, Skip{lines[i], name, fmt.Sprintf("rule %q has no HTTP meaning (allow, accept, deny, disallow)", row["rule"])})
			continue
		}
		subject := name
		if subject == "" {
			subject = "*" // xCAT: any user
		}
		rule := auth.Rule{Priority: prio, Subject: subject, Verdict: verdict, Disabled: xcatDisabled(row["disable"]), Comment: row["comments"]}
		if err := rule.Validate(); err != nil {
			skips = append(skips, Skip{lines[i], name, err.Error()})
			continue
		}
		out = append(out, rule)
	}
	return out, skips, err
}

// readColonFile reads htpasswd or shadow: "login:hash[:…]" per line.
// When only is not empty, other logins are skipped silently.
func readColonFile(r io.Reader, shadow bool, only map[string]bool) ([]account, []Skip, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxImportLine)
	var out []account
	var skips []Skip
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		login, rest, ok := strings.Cut(line, ":")
		if !ok || !validLogin(login) {
			skips = append(skips, Skip{n, "", "not login:hash"})
			continue
		}
		if only != nil && !only[login] {
			continue
		}
		hash := rest
		expired := false
		if shadow {
			fields := strings.Split(rest, ":")
			hash = fields[0]
			// Field 8 of shadow(5): the day (since 1970-01-01) the account
			// expires; an expired account is disabled, as login(1) refuses it.
			if len(fields) >= 7 && fields[6] != "" {
				if day, err := strconv.ParseInt(fields[6], 10, 64); err == nil && day >= 0 && day <= time.Now().Unix()/86400 {
					expired = true
				}
			}
		}
		a := account{line: n, login: login, hash: hash}
		switch {
		case shadow && (hash == "*" || strings.HasPrefix(hash, "!") && len(hash) <= 2):
			// Locked, no password: disables the user if it exists.
			out = append(out, account{line: n, login: login, lockOnly: true, disabled: true})
			continue
		case hash == "" || hash == "*" || strings.HasPrefix(hash, "!") && len(hash) <= 2:
			skips = append(skips, Skip{n, login, "no password (locked or empty)"})
			continue
		case shadow && strings.HasPrefix(hash, "!"):
			a.hash, a.disabled = hash[1:], true // a locked account keeps its hash
		}
		if expired {
			a.disabled = true
		}
		if password.Format(a.hash) == "" {
			why := "the hash is in a format gatehouse does not accept"
			if len(a.hash) == 13 && !strings.ContainsAny(a.hash, "$:{") {
				why = "DES crypt reads only the first 8 characters of a password, so gatehouse does not accept it: set a new password (htpasswd -B, or gatehouse user passwd)"
			}
			skips = append(skips, Skip{n, login, why})
			continue
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return out, skips, err
	}
	if only != nil {
		found := map[string]bool{}
		for _, a := range out {
			found[a.login] = true
		}
		for _, s := range skips {
			found[s.Name] = true
		}
		for login := range only {
			if !found[login] {
				skips = append(skips, Skip{0, login, "not in the file"})
			}
		}
	}
	return out, skips, nil
}
