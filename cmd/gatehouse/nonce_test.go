package main

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestOAuth1NonceSurvivesKill: on SQLite, nonces are group-committed with
// synchronous=NORMAL; a process killed with SIGKILL right after a signed
// request got its 200 loses nothing, and the request replayed to the
// restarted server is refused as a replay (not for its signature: same
// address, same URL).
func TestOAuth1NonceSurvivesKill(t *testing.T) {
	data := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	s := startServer(t, data, "--demo", "--addr", "127.0.0.1:"+port)
	c := s.creds(t)
	url := s.base + "/api/architectures"
	header := strings.TrimPrefix(strings.TrimSpace(cli(t, data, c.consumerSecret+"\n", "oauth1", "sign", "GET", url, "--consumer", "katello")), "Authorization: ")
	client := caClient(t, data)
	send := func() (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", header)
		req.Header.Set("FOREMAN-USER", "admin")
		return getStatus(t, client, req)
	}
	if code, body := send(); code != 200 {
		t.Fatalf("signed request: %d %s", code, body)
	}
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()
	startServer(t, data, "--addr", "127.0.0.1:"+port)
	code, body := send()
	if code != 401 || !strings.Contains(body, "replayed nonce") {
		t.Errorf("the replay after a kill -9: %d %s, want 401 replayed nonce", code, body)
	}
}
