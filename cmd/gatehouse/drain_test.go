package main

import (
	"encoding/base64"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeDrainsOnSIGTERM: for rolling restarts behind a load balancer,
// SIGTERM turns /readyz to 503 at once while every other request is
// still served for --drain, then serve stops cleanly, audit log flushed.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--demo", "--drain", "2s")
	c := s.creds(t)
	client := caClient(t, data)
	status := func(path string, basic bool) int {
		req, _ := http.NewRequest("GET", s.base+path, nil)
		if basic {
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("wsuser:"+c.xcatPW)))
		}
		res, err := client.Do(req)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := status("/readyz", false); got != 200 {
		t.Fatalf("/readyz before: %d", got)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for status("/readyz", false) != 503 {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not turn 503 within a second of SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	served := 0
	for time.Since(start) < 1500*time.Millisecond {
		if got := status("/xcatws/nodes", true); got != 200 {
			t.Fatalf("a request while draining: %d", got)
		}
		served++
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("serve stopped during the drain: %v", err)
	default:
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve did not exit cleanly: %v\n%s", err, s.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after the drain")
	}
	took := time.Since(start)
	if took < 2*time.Second {
		t.Errorf("serve stopped after %s, before its 2 s drain", took)
	}
	log := s.stderr.String()
	for _, want := range []string{"draining for 2s", "gatehouse: stopped", "user=wsuser"} {
		if !strings.Contains(log, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	t.Logf("%d requests served while draining; stopped after %s", served, took.Round(100*time.Millisecond))
}
