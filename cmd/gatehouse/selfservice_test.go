package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds Debian's chromium (apt-get install chromium).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("GATEHOUSE_REQUIRE_INTEGRATION") != "" {
		t.Fatal("chromium not installed (apt-get install chromium)")
	}
	t.Skip("chromium not installed")
	return ""
}

// TestSelfServiceInBrowser drives the self-service page at /ui/ in
// headless Chromium (chromedp): sign in with the keyboard, create a
// personal access token, read its secret off the page, use it with curl,
// revoke it in the page, and see curl refused. Each state's screenshot is
// saved under testdata/ui/, and the page is checked at 320 px wide.
func TestSelfServiceInBrowser(t *testing.T) {
	exe := chromium(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	data, work := t.TempDir(), t.TempDir()
	s := startServer(t, data, "--demo")
	c := s.creds(t)
	shots := filepath.Join("testdata", "ui")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1024, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("browser: %v\nserver: %s", err, s.stderr)
		}
	}
	text := func(a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
		return v
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG (below: JPEG)
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	curlStatusOf := func(secret string) int {
		code, _ := curlStatus(t, work, fmt.Sprintf("--cacert %s/ca/cluster.crt --user admin:%s %s/api/status", data, secret, s.base))
		return code
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }

	do(chromedp.Navigate(s.base+"/ui/"), chromedp.WaitVisible(css("#username")))
	shot("1-sign-in.png")
	// The keyboard alone: focus the first field, type, Tab, Enter submits.
	do(chromedp.Focus(css("#username")), chromedp.SendKeys(css("#username"), "admin"), chromedp.KeyEvent("\t"))
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	if err != nil {
		t.Fatal(err)
	}
	do(chromedp.SendKeys(css("#password"), c.satPW+"\r"), chromedp.WaitVisible(css("#create")))
	shot("2-signed-in.png")
	do(chromedp.SendKeys(css("#name"), "browser-test"), chromedp.Click(css("#create")), chromedp.WaitVisible(css("#secret")))
	secret := text(chromedp.Value(css("#secret")))
	warning := text(chromedp.Text(css("#new-token + p")))
	location := text(chromedp.Location())
	shot("3-created.png")
	if focused != "password" {
		t.Errorf("Tab from the user name went to %q, want the password field", focused)
	}
	if !strings.HasPrefix(secret, "gate_pat_") {
		t.Fatalf("no token secret on the page: %q", secret)
	}
	if !strings.Contains(warning, "you will not see it again") {
		t.Errorf("no warning next to the secret: %q", warning)
	}
	if strings.Contains(location, secret) {
		t.Errorf("the secret is in the URL %s", location)
	}
	if strings.Contains(s.stderr.String(), secret) {
		t.Errorf("the secret is in the server's log")
	}
	if code := curlStatusOf(secret); code != 200 {
		t.Fatalf("curl with the new token: %d, want 200", code)
	}

	revoke := css(`button[aria-label="Revoke browser-test"]`)
	do(chromedp.Navigate(s.base+"/ui/"), chromedp.WaitVisible(revoke)) // the secret is gone after a reload
	if html := text(chromedp.OuterHTML(css("main"))); strings.Contains(html, secret) {
		t.Errorf("the secret is still shown after a reload")
	}
	do(chromedp.Click(revoke), chromedp.WaitVisible(css("#message")))
	message := text(chromedp.Text(css("#message")))
	shot("4-revoked.png")
	do(chromedp.EmulateViewport(320, 700), chromedp.Navigate(s.base+"/ui/"), chromedp.WaitVisible(css("#create")))
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	shot("5-320px.png")
	if !strings.Contains(message, "revoked") {
		t.Errorf("after revoking: %q", message)
	}
	if overflow {
		t.Errorf("the page scrolls sideways at 320 px")
	}
	if code := curlStatusOf(secret); code != 401 {
		t.Errorf("curl with the revoked token: %d, want 401", code)
	}
}
