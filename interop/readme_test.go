package interop

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/syncbuf"
)

// TestReadmeHeadline checks the README's quick start: its first Go snippet
// must be, line for line, the body of main in examples/quickstart/main.go
// (which adds the imports). That file is pasted as main.go into a new
// module (requiring this one through a replace directive), run with `go
// run` on a free port, and sent the curl line printed under the snippet.
func TestReadmeHeadline(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "```go\n")
	if start < 0 {
		t.Fatal("no Go snippet in the README")
	}
	end := strings.Index(text[start+6:], "```\n")
	if end < 0 {
		t.Fatal("the README's Go snippet does not end")
	}
	snippet := text[start+6 : start+6+end]
	curlStart := strings.Index(text[start:], "```sh\ncurl ")
	if curlStart < 0 {
		t.Fatal("no curl line under the snippet")
	}
	curlLine := strings.SplitN(text[start+curlStart+len("```sh\n"):], "\n", 2)[0]
	curlLine, want, _ := strings.Cut(curlLine, "   # ")

	const example = "../examples/quickstart/main.go"
	program, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	_, body, ok := strings.Cut(string(program), "\nfunc main() {\n")
	body, _, ok2 := strings.Cut(body, "\n}\n")
	if !ok || !ok2 {
		t.Fatalf("%s has no func main", example)
	}
	var lines []string
	for _, line := range strings.Split(body+"\n", "\n") {
		lines = append(lines, strings.TrimPrefix(line, "\t"))
	}
	if got := strings.Join(lines, "\n"); got != snippet {
		t.Fatalf("the README's snippet is not the body of main in %s:\nREADME:\n%s\nmain:\n%s", example, snippet, got)
	}
	port := freePort(t)
	src := strings.ReplaceAll(string(program), "127.0.0.1:8443", "127.0.0.1:"+port)
	curlLine = strings.ReplaceAll(curlLine, "127.0.0.1:8443", "127.0.0.1:"+port)

	dir := t.TempDir()
	repo, _ := filepath.Abs("..")
	// The example's module needs what gatehouse needs: the same go.sum, and
	// gatehouse itself from this checkout.
	mod := "module example\n\ngo 1.26\n\nrequire github.com/gatehouse/gatehouse v0.0.0\n\nreplace github.com/gatehouse/gatehouse => " + repo + "\n"
	sum, err := os.ReadFile("../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"go.mod": mod, "go.sum": string(sum), "main.go": src} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tidy := exec.Command("go", "mod", "tidy", "-e")
	tidy.Dir = dir
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, "go", "run", ".")
	run.Dir = dir
	log := &syncbuf.Buffer{}
	run.Stdout, run.Stderr = log, log
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // go run's child is the server: stop the group
	run.WaitDelay = 5 * time.Second
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL) }()

	exited := make(chan struct{})
	go func() { _ = run.Wait(); close(exited) }()
	deadline := time.Now().Add(2 * time.Minute) // go run compiles first
	for {
		select {
		case <-exited:
			t.Fatalf("the quick start exited: %s", log.String())
		default:
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the quick start never listened: %s", log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, err := exec.Command("sh", "-c", curlLine).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s\nserver: %s", curlLine, err, out, log.String())
	}
	if !strings.Contains(string(out), strings.TrimSpace(want)) {
		t.Errorf("%s printed %q, the README says %q", curlLine, out, want)
	}
	// Wrong password: 401, not a hang or a 500.
	bad := strings.Replace(curlLine, "alice:s3cret", "alice:wrong", 1) + " -s -o /dev/null -w '%{http_code}'"
	out, _ = exec.Command("sh", "-c", bad).CombinedOutput()
	if string(out) != "401" {
		t.Errorf("a wrong password gave %q", out)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
