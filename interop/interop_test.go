package interop

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demo is a running demonstration server and what its banner told.
type demo struct {
	base, certDir, pat, secret string
}

// startDemo builds and starts ./examples/server on a free port and reads
// its banner.
func startDemo(t *testing.T) *demo {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "demo")
	build := exec.Command("go", "build", "-o", bin, "../examples/server")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the demo: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard // its audit log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	})
	var banner strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "Flocker:") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	b := banner.String()
	find := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(b)
		if m == nil {
			t.Fatalf("no %s in the demo's banner:\n%s", re, b)
		}
		return m[1]
	}
	d := &demo{
		base:    find(`(https://127\.0\.0\.1:\d+)`),
		certDir: find(`--cacert (\S+)/cluster\.crt`),
		pat:     find(`--user admin:(gate_pat_\w+)`),
		secret:  find(`consumer key katello, secret (\S+),`),
	}
	t.Cleanup(func() { os.RemoveAll(d.certDir) })
	return d
}

func (d *demo) env() []string {
	return append(os.Environ(),
		"GH_BASE="+d.base,
		"GH_CA="+d.certDir+"/cluster.crt",
		"GH_CERT="+d.certDir+"/user.crt",
		"GH_KEY="+d.certDir+"/user.key",
		"GH_PAT="+d.pat,
		"GH_CONSUMER_KEY=katello",
		"GH_CONSUMER_SECRET="+d.secret,
		"NODE_EXTRA_CA_CERTS="+d.certDir+"/cluster.crt",
	)
}

// client is one client script and what it needs installed.
type client struct {
	name  string
	cmd   []string
	needs [][]string // commands that must succeed first (the client is installed)
	lines int        // how many checks the script makes
}

var clients = []client{
	{"python", []string{"/usr/bin/python3", "clients/python_clients.py"},
		[][]string{{"/usr/bin/python3", "-c", "import requests, requests_oauthlib, authlib"}}, 24},
	{"ruby", []string{"ruby", "clients/ruby_clients.rb"},
		[][]string{{"ruby", "-e", "require 'oauth'; require 'oauth2'; require 'rest-client'"}}, 7},
	{"node", []string{"node", "clients/node_clients.js"},
		[][]string{{"node", "-e", "require('./node/node_modules/oauth-1.0a'); require('./node/node_modules/oauth'); require('./node/node_modules/simple-oauth2')"}}, 8},
	{"shell", []string{"bash", "clients/shell_clients.sh"},
		[][]string{{"curl", "--version"}, {"http", "--version"}, {"wget", "--version"}, {"openssl", "version"}}, 19},
}

func TestRealClients(t *testing.T) {
	for _, c := range clients {
		for _, need := range c.needs {
			if out, err := exec.Command(need[0], need[1:]...).CombinedOutput(); err != nil {
				if os.Getenv("GATEHOUSE_REQUIRE_INTEGRATION") == "1" {
					t.Fatalf("%s client not installed (%v): %v %s", c.name, need, err, out)
				}
				t.Skipf("%s client not installed (run .ci/run to install them): %v", c.name, err)
			}
		}
	}
	d := startDemo(t)
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, c.cmd[0], c.cmd[1:]...)
			cmd.Env = d.env()
			out, err := cmd.CombinedOutput()
			oks := 0
			for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
				switch {
				case strings.HasPrefix(line, "ok "):
					oks++
					t.Log(line)
				case strings.HasPrefix(line, "FAIL "):
					t.Error(line)
				default:
					t.Log(line) // a client's own warnings
				}
			}
			if oks != c.lines {
				t.Errorf("%d checks passed, want %d (exit: %v)", oks, c.lines, err)
			}
			if err != nil && !t.Failed() {
				t.Errorf("client exited with %v:\n%s", err, out)
			}
		})
	}
}
