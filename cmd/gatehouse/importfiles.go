package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/gatehouse/gatehouse/importer"
	"github.com/gatehouse/gatehouse/store/sqlstore"
)

func init() {
	verbs = append(verbs,
		verb{name: "import xcat-passwd", args: "FILE  (tabdump passwd)", help: "import xCAT's API users (key xcat)", run: cmdImportAccounts("xcat-passwd")},
		verb{name: "import xcat-policy", args: "FILE  (tabdump policy)", help: "import xCAT's policy rows that apply to HTTP", run: cmdImportPolicy},
		verb{name: "import htpasswd", args: "FILE", help: "import users from an htpasswd file", run: cmdImportAccounts("htpasswd")},
		verb{name: "import shadow", args: "FILE USER…", help: "import the named users' hashes from /etc/shadow", run: cmdImportAccounts("shadow")},
	)
}

// openImport opens FILE, or standard input for "-".
func (e *env) openImport(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(e.in), nil
	}
	return os.Open(name)
}

func cmdImportAccounts(format string) func(e *env, args []string) error {
	return func(e *env, args []string) error {
		min, max := 1, 1
		if format == "shadow" {
			min, max = 2, -1
		}
		pos, err := parse(e, "import "+format, args, nil, min, max)
		if err != nil {
			return err
		}
		f, err := e.openImport(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		var rep importer.Report
		err = e.withStore(func(ctx context.Context, s sqlstore.Store) error {
			var err error
			switch format {
			case "xcat-passwd":
				rep, err = importer.XCATPasswd(ctx, f, s)
			case "htpasswd":
				rep, err = importer.Htpasswd(ctx, f, s)
			case "shadow":
				rep, err = importer.Shadow(ctx, f, s, pos[1:])
			}
			return err
		})
		if err != nil && rep.Added+rep.Updated+rep.Disabled == 0 && len(rep.Skipped) == 0 {
			return fmt.Errorf("%s: %w (nothing imported)", pos[0], err)
		}
		fmt.Fprintf(e.stdout, "imported %d users (%d new, %d updated), disabled %d, skipped %d\n", rep.Added+rep.Updated, rep.Added, rep.Updated, rep.Disabled, len(rep.Skipped))
		for _, s := range rep.Skipped {
			fmt.Fprintf(e.stdout, "  skipped %s\n", s)
		}
		return err
	}
}

func cmdImportPolicy(e *env, args []string) error {
	pos, err := parse(e, "import xcat-policy", args, nil, 1, 1)
	if err != nil {
		return err
	}
	f, err := e.openImport(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	var rep importer.Report
	err = e.withStore(func(ctx context.Context, s sqlstore.Store) error {
		var err error
		rep, err = importer.XCATPolicy(ctx, f, s)
		return err
	})
	if err != nil && rep.Rules == 0 && len(rep.Skipped) == 0 {
		return fmt.Errorf("%s: %w (nothing imported)", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "imported %d rules, skipped %d\n", rep.Rules, len(rep.Skipped))
	for _, s := range rep.Skipped {
		fmt.Fprintf(e.stdout, "  skipped %s\n", s)
	}
	return err
}
