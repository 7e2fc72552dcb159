package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/certserial"
	"github.com/gatehouse/gatehouse/mtls"
	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/gatehouse/gatehouse/token"
)

// verbs are the commands, in the order usage lists them.
var verbs []verb

func init() {
	verbs = append(verbs, []verb{
		{name: "serve", args: "[--addr HOST:PORT] [--http-addr HOST:PORT] [--demo] [--allow-insecure]", help: "run the reference server", run: cmdServe},
		{name: "user add", args: "NAME [--password-stdin] [--group G]… [--domain D]", help: "add a user", run: cmdUserAdd},
		{name: "user set-hash", args: "NAME  (hash on stdin)", help: "set a user's password hash (crypt, htpasswd, argon2id)", run: cmdUserSetHash},
		{name: "user passwd", args: "NAME --password-stdin", help: "set a user's password", run: cmdUserPasswd},
		{name: "user disable", args: "NAME", help: "disable a user (every scheme refuses it)", run: cmdUserDisable},
		{name: "user enable", args: "NAME", help: "enable a disabled user", run: cmdUserEnable},
		{name: "user list", args: "", help: "list users", readOnly: true, run: cmdUserList},
		{name: "policy add", args: "--priority N --subject NAME|*|group:G --rule allow|deny [--method M]… [--path PATTERN]", help: "add a policy rule", run: cmdPolicyAdd},
		{name: "policy list", args: "", help: "list the policy rules", readOnly: true, run: cmdPolicyList},
		{name: "policy rm", args: "PRIORITY", help: "remove the policy rule with that priority", run: cmdPolicyRm},
		{name: "token create", args: "USER --name NAME [--expires RFC3339|--days N]", help: "create a personal access token (printed once)", run: cmdTokenCreate},
		{name: "token list", args: "USER", help: "list a user's tokens", readOnly: true, run: cmdTokenList},
		{name: "token revoke", args: "ID", help: "revoke a token", run: cmdTokenRevoke},
		{name: "ca init", args: "[--cluster-id ID] [--cluster-name NAME]", help: "create the cluster CA", run: cmdCAInit},
		{name: "ca issue-client", args: "NAME [--out DIR]", help: "issue a client certificate (NAME.crt, NAME.key, cluster.crt)", run: cmdCAIssueClient},
		{name: "ca issue-server", args: "HOST… [--out DIR]", help: "issue the server certificate (server.crt, server.key) for these names", run: cmdCAIssueServer},
		{name: "ca revoke", args: "SERIAL", help: "revoke a certificate by serial (hex, as openssl prints it)", run: cmdCARevoke},
		{name: "hash", args: "  (password on stdin)", help: "print an argon2id hash of a password", run: cmdHash},
	}...)
}

// splitLogin splits "name@domain"; --domain wins when given.
func splitLogin(login, domain string) (string, string) {
	if domain != "" {
		return login, domain
	}
	if i := strings.LastIndexByte(login, '@'); i > 0 {
		return login[:i], login[i+1:]
	}
	return login, ""
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func cmdUserAdd(e *env, args []string) error {
	var (
		pwStdin bool
		groups  stringList
		domain  string
	)
	pos, err := parse(e, "user add", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input (else the user has no password: certificates only)")
		fs.Var(&groups, "group", "a group for policy rules (repeatable)")
		fs.StringVar(&domain, "domain", "", "the user's domain (oVirt's profile, e.g. internal); or write NAME@DOMAIN")
	}, 1, 1)
	if err != nil {
		return err
	}
	name, dom := splitLogin(pos[0], domain)
	u := stores.User{Name: name, Domain: dom, Groups: groups}
	if !pwStdin && e.stdinHasData() {
		// echo pw | gatehouse user add eve: the password would be dropped.
		return usageError("a password came on standard input: pass --password-stdin to set it (without it the user has no password: certificates only)")
	}
	if pwStdin {
		pw, err := e.readSecret("password")
		if err != nil {
			return err
		}
		if u.PasswordHash, err = password.Hash(pw); err != nil {
			return err
		}
	}
	return e.withStore(func(ctx context.Context, s sqlstore.Store) error {
		if _, err := s.User(ctx, u.Login()); err == nil {
			return fmt.Errorf("user %s exists already (change it with user passwd or user set-hash)", u.Login())
		} else if !errors.Is(err, stores.ErrNotFound) {
			return err
		}
		if err := s.PutUser(ctx, u); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "added user %s\n", u.Login())
		return nil
	})
}

// changeUser loads a user, lets f change it and stores it.
func (e *env) changeUser(login string, f func(u *stores.User) error) error {
	return e.withStore(func(ctx context.Context, s sqlstore.Store) error {
		u, err := s.User(ctx, login)
		if errors.Is(err, stores.ErrNotFound) {
			return fmt.Errorf("no user %s", login)
		}
		if err != nil {
			return err
		}
		if err := f(u); err != nil {
			return err
		}
		return s.PutUser(ctx, *u)
	})
}

func cmdUserPasswd(e *env, args []string) error {
	var pwStdin bool
	pos, err := parse(e, "user passwd", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input (required)")
	}, 1, 1)
	if err != nil {
		return err
	}
	if !pwStdin {
		return usageError("the password is read from standard input: pass --password-stdin")
	}
	pw, err := e.readSecret("password")
	if err != nil {
		return err
	}
	h, err := password.Hash(pw)
	if err != nil {
		return err
	}
	if err := e.changeUser(pos[0], func(u *stores.User) error { u.PasswordHash = h; return nil }); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "password of %s changed\n", pos[0])
	return nil
}

func cmdUserSetHash(e *env, args []string) error {
	pos, err := parse(e, "user set-hash", args, nil, 1, 1)
	if err != nil {
		return err
	}
	h, err := e.readSecret("hash")
	if err != nil {
		return err
	}
	if password.Format(h) == "" {
		return fmt.Errorf("not a supported password hash (argon2id/argon2i, bcrypt, sha512/sha256/md5-crypt, yescrypt)")
	}
	if _, err := password.Verify(h, "gatehouse-probe"); errors.Is(err, password.ErrMalformed) || errors.Is(err, password.ErrUnsupported) {
		return fmt.Errorf("the %s hash cannot be used: %v", password.Format(h), err)
	}
	if err := e.changeUser(pos[0], func(u *stores.User) error { u.PasswordHash = h; return nil }); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "password hash of %s set (%s)\n", pos[0], password.Format(h))
	return nil
}

func setDisabled(disabled bool, verbName string) func(e *env, args []string) error {
	return func(e *env, args []string) error {
		pos, err := parse(e, verbName, args, nil, 1, 1)
		if err != nil {
			return err
		}
		if err := e.changeUser(pos[0], func(u *stores.User) error { u.Disabled = disabled; return nil }); err != nil {
			return err
		}
		state := "enabled"
		if disabled {
			state = "disabled"
		}
		fmt.Fprintf(e.stdout, "user %s %s\n", pos[0], state)
		return nil
	}
}

func cmdUserDisable(e *env, args []string) error { return setDisabled(true, "user disable")(e, args) }
func cmdUserEnable(e *env, args []string) error  { return setDisabled(false, "user enable")(e, args) }

func cmdUserList(e *env, args []string) error {
	if _, err := parse(e, "user list", args, nil, 0, 0); err != nil {
		return err
	}
	return e.withStore(func(ctx context.Context, s sqlstore.Store) error {
		users, err := s.ListUsers(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "LOGIN\tGROUPS\tPASSWORD\tSTATE")
		for _, u := range users {
			pw := "-"
			if u.PasswordHash != "" {
				pw = password.Format(u.PasswordHash) // the format, never the hash
			}
			state := "enabled"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", u.Login(), strings.Join(u.Groups, ","), pw, state)
		}
		return w.Flush()
	})
}

func cmdPolicyAdd(e *env, args []string) error {
	var (
		priority, subject, verdict, path, comment string
		methods                                   stringList
	)
	if _, err := parse(e, "policy add", args, func(fs *flag.FlagSet) {
		fs.StringVar(&priority, "priority", "", "the rule's priority: lowest first, decimals allowed (xCAT's 1.2)")
		fs.StringVar(&subject, "subject", "", `who: a login, "group:NAME", "*" (any authenticated user)`)
		fs.StringVar(&verdict, "rule", "", "allow or deny")
		fs.Var(&methods, "method", "an HTTP method (repeatable; none = every method)")
		fs.StringVar(&path, "path", "", `a path pattern ("*" a segment, "**" any segments; empty = every path)`)
		fs.StringVar(&comment, "comment", "", "free text")
	}, 0, 0); err != nil {
		return err
	}
	if priority == "" || subject == "" || verdict == "" {
		return usageError("--priority, --subject and --rule are required")
	}
	p, err := strconv.ParseFloat(priority, 64)
	if err != nil {
		return usageError("--priority %q is not a number", priority)
	}
	for i := range methods {
		methods[i] = strings.ToUpper(methods[i])
	}
	r := auth.Rule{Priority: p, Subject: subject, Methods: methods, Path: path, Verdict: auth.Verdict(verdict), Comment: comment}
	if err := r.Validate(); err != nil {
		return err
	}
	return e.withStore(func(ctx context.Context, s sqlstore.Store) error {
		rules, err := s.Rules(ctx)
		if err != nil {
			return err
		}
		for _, old := range rules {
			if old.Priority == p {
				return fmt.Errorf("a rule with priority %s exists (policy rm it first)", strconv.FormatFloat(old.Priority, 'f', -1, 64))
			}
		}
		if err := s.SetRules(ctx, append(rules, r)); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "added rule %s\n", strconv.FormatFloat(r.Priority, 'f', -1, 64))
		return nil
	})
}

func cmdPolicyList(e *env, args []string) error {
	if _, err := parse(e, "policy list", args, nil, 0, 0); err != nil {
		return err
	}
	return e.withStore(func(ctx context.Context, s sqlstore.Store) error {
		rules, err := s.Rules(ctx)
		if err != nil {
			return err
		}
		slices.SortFunc(rules, func(a, b auth.Rule) int { return cmp.Compare(a.Priority, b.Priority) })
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "PRIORITY\tSUBJECT\tMETHODS\tPATH\tRULE\tCOMMENT")
		for _, r := range rules {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", strconv.FormatFloat(r.Priority, 'f', -1, 64), orDash(r.Subject), orDash(strings.Join(r.Methods, ",")),
				orDash(r.Path), r.Verdict, r.Comment)
		}
		return w.Flush()
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdPolicyRm(e *env, args []string) error {
	pos, err := parse(e, "policy rm", args, nil, 1, 1)
	if err != nil {
		return err
	}
	p, err := strconv.ParseFloat(pos[0], 64)
	if err != nil {
		return usageError("%q is not a priority", pos[0])
	}
	return e.withStore(func(ctx context.Context, s sqlstore.Store) error {
		rules, err := s.Rules(ctx)
		if err != nil {
			return err
		}
		kept := slices.DeleteFunc(rules, func(r auth.Rule) bool { return r.Priority == p })
		if len(kept) == len(rules) {
			return fmt.Errorf("no rule with priority %s", pos[0])
		}
		if err := s.SetRules(ctx, kept); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "removed rule %s\n", pos[0])
		return nil
	})
}

func cmdTokenCreate(e *env, args []string) error {
	var (
		name, expires string
		days          int
	)
	pos, err := parse(e, "token create", args, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "the token's name, unique per user (required)")
		fs.StringVar(&expires, "expires", "", "expiry as RFC 3339 (2027-01-31T00:00:00Z)")
		fs.IntVar(&days, "days", 0, "expiry in days from now (0, the default: the token never expires)")
	}, 1, 1)
	if err != nil {
		return err
	}
	if name == "" {
		return usageError("--name is required")
	}
	spec := token.PATSpec{Login: pos[0], Name: name}
	switch {
	case expires != "" && days != 0:
		return usageError("give --expires or --days, not both")
	case expires != "":
		if spec.Expires, err = time.Parse(time.RFC3339, expires); err != nil {
			return usageError("--expires: %v", err)
		}
		if !spec.Expires.After(time.Now()) {
			return usageError("--expires is in the past")
		}
	case days < 0:
		return usageError("--days must be positive")
	case days > 0:
		spec.Expires = time.Now().AddDate(0, 0, days)
	}
	return e.withTokens(func(ctx context.Context, svc *token.Service) error {
		pat, err := svc.CreatePAT(ctx, spec)
		switch {
		case errors.Is(err, stores.ErrConflict):
			return fmt.Errorf("%s has a token named %q already (names are unique per user; token list %s shows them)", pos[0], name, pos[0])
		case errors.Is(err, stores.ErrNotFound):
			return fmt.Errorf("no user %s", pos[0])
		case err != nil:
			return err
		}
		fmt.Fprintf(e.stderr, "token %s (id %s) for %s; the secret below is shown once:\n", name, pat.Token.ID, pat.Token.User)
		fmt.Fprintln(e.stdout, pat.Secret)
		return nil
	})
}

func cmdTokenList(e *env, args []string) error {
	pos, err := parse(e, "token list", args, nil, 1, 1)
	if err != nil {
		return err
	}
	return e.withTokens(func(ctx context.Context, svc *token.Service) error {
		toks, err := svc.List(ctx, pos[0], "")
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tKIND\tNAME\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
		for _, t := range toks {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Kind, orDash(t.Name), stamp(t.Created), stamp(t.Expires), stamp(t.LastUsed), stamp(t.Revoked))
		}
		return w.Flush()
	})
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func cmdTokenRevoke(e *env, args []string) error {
	pos, err := parse(e, "token revoke", args, nil, 1, 1)
	if err != nil {
		return err
	}
	return e.withTokens(func(ctx context.Context, svc *token.Service) error {
		id := pos[0]
		// The token itself (gate_pat_…) works as well as its id.
		if t, err := svc.Lookup(ctx, id); err == nil {
			id = t.ID
		}
		if err := svc.Revoke(ctx, "", id); errors.Is(err, stores.ErrNotFound) {
			return fmt.Errorf("no token with id %s (token list USER shows the ids; the token itself works too)", pos[0])
		} else if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "revoked token %s\n", id)
		return nil
	})
}

// loadOrInitCA returns the data directory's CA, making it when create is
// set and there is none.
func (e *env) loadOrInitCA(create bool, o mtls.CAOptions) (*mtls.CA, bool, error) {
	ca, err := mtls.LoadCA(e.caDir())
	if err == nil {
		return ca, false, nil
	}
	if _, statErr := os.Stat(filepath.Join(e.caDir(), "cluster.crt")); !errors.Is(statErr, os.ErrNotExist) {
		return nil, false, err // there is a CA, and it does not load
	}
	if !create {
		return nil, false, fmt.Errorf("no CA in %s (run gatehouse ca init, or serve)", e.caDir())
	}
	if o.ClusterName == "" {
		o.ClusterName = "gatehouse"
	}
	if ca, err = mtls.NewCA(o); err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(e.caDir(), 0o700); err != nil {
		return nil, false, err
	}
	return ca, true, ca.WriteFiles(e.caDir())
}

func cmdCAInit(e *env, args []string) error {
	var o mtls.CAOptions
	if _, err := parse(e, "ca init", args, func(fs *flag.FlagSet) {
		fs.StringVar(&o.ClusterID, "cluster-id", "", "the cluster id (the CA's OU; client certificates carry it); default a random UUID")
		fs.StringVar(&o.ClusterName, "cluster-name", "gatehouse", "the CA's common name")
	}, 0, 0); err != nil {
		return err
	}
	ca, made, err := e.loadOrInitCA(true, o)
	if err != nil {
		return err
	}
	if !made {
		return fmt.Errorf("a CA exists in %s (cluster id %s)", e.caDir(), ca.ClusterID)
	}
	fmt.Fprintf(e.stdout, "CA created in %s (cluster id %s)\n", e.caDir(), ca.ClusterID)
	return nil
}

func cmdCAIssueClient(e *env, args []string) error {
	out := "."
	anyName := false
	pos, err := parse(e, "ca issue-client", args, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", ".", "directory to write NAME.crt, NAME.key and cluster.crt to")
		fs.BoolVar(&anyName, "no-user", false, "issue it although NAME is no user here (the certificate is refused until the user exists)")
	}, 1, 1)
	if err != nil {
		return err
	}
	ca, _, err := e.loadOrInitCA(false, mtls.CAOptions{})
	if err != nil {
		return err
	}
	if !anyName {
		// A certificate proves a user of this store: for a name that is
		// none it would only ever get 401.
		err := e.withStore(func(ctx context.Context, s sqlstore.Store) error {
			u, err := s.User(ctx, pos[0])
			switch {
			case errors.Is(err, stores.ErrNotFound):
				return fmt.Errorf("no user %s: add it first (gatehouse user add %s), or pass --no-user", pos[0], pos[0])
			case err != nil:
				return err
			case u.Disabled:
				fmt.Fprintf(e.stderr, "gatehouse: %s is disabled: the certificate is refused until user enable %s\n", pos[0], pos[0])
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return issueClient(ca, pos[0], out, e)
}

// issueClient writes NAME.crt, NAME.key and (when missing) cluster.crt to
// out.
func issueClient(ca *mtls.CA, name, out string, e *env) error {
	c, err := ca.IssueClient(name, mtls.LeafOptions{})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return err
	}
	if err := c.WriteFiles(out, name); err != nil {
		return err
	}
	cluster := filepath.Join(out, "cluster.crt")
	if _, err := os.Stat(cluster); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(cluster, ca.CertPEM(), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "issued %s (CN %s, serial %s) in %s\n", name, c.Cert.Subject.CommonName, c.Cert.SerialNumber.Text(16), out)
	return nil
}

func cmdCAIssueServer(e *env, args []string) error {
	out := ""
	pos, err := parse(e, "ca issue-server", args, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "directory for server.crt and server.key (default: the data directory, where serve reads them; the old pair is kept as server.crt.old)")
	}, 1, -1)
	if err != nil {
		return err
	}
	if out == "" {
		out = e.data
	}
	ca, _, err := e.loadOrInitCA(false, mtls.CAOptions{})
	if err != nil {
		return err
	}
	c, err := ca.IssueServer(pos[0], pos, mtls.LeafOptions{})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return err
	}
	for _, f := range []string{"server.crt", "server.key"} {
		p := filepath.Join(out, f)
		if _, err := os.Stat(p); err == nil {
			if err := os.Rename(p, p+".old"); err != nil {
				return err
			}
		}
	}
	if err := c.WriteFiles(out, "server"); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "server certificate for %s written to %s (restart serve to use it)\n", strings.Join(pos, ", "), out)
	return nil
}

func cmdCARevoke(e *env, args []string) error {
	pos, err := parse(e, "ca revoke", args, nil, 1, 1)
	if err != nil {
		return err
	}
	serial, err := certserial.Normalize(pos[0])
	if err != nil {
		return usageError("%q is not a certificate serial: give it in hex, as openssl x509 -noout -serial prints it", pos[0])
	}
	return e.withStore(func(ctx context.Context, s sqlstore.Store) error {
		if err := s.RevokeCert(ctx, serial); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "revoked certificate %s\n", serial)
		return nil
	})
}

func cmdHash(e *env, args []string) error {
	if _, err := parse(e, "hash", args, nil, 0, 0); err != nil {
		return err
	}
	pw, err := e.readSecret("password")
	if err != nil {
		return err
	}
	h, err := password.Hash(pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, h)
	return nil
}
