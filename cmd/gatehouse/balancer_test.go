package main

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// TestThrottleBehindBalancer: behind docs/deploy/haproxy.cfg (TLS passed
// through), every client used to reach serve from HAProxy's address, so
// one client's 31 wrong logins locked every password login out for the
// window (found by an outside review; this failed before --proxy-protocol:
// the victim got 429). With send-proxy-v2 and serve --proxy-protocol the
// throttle counts each client by its own address.
func TestThrottleBehindBalancer(t *testing.T) {
	haproxy := requireTool(t, "haproxy", "/usr/sbin/haproxy")
	data := t.TempDir()
	addr := freeAddr(t)
	s := startServer(t, data, "--demo", "--addr", addr, "--proxy-protocol", "127.0.0.1/32")
	c := s.creds(t)
	lb := freeAddr(t)
	conf := renderDeployConfig(t, "haproxy.cfg", map[string]string{"@BIND@": lb, "@CA@": filepath.Join(data, "ca", "cluster.crt"),
		"@GH1@": addr, "@GH2@": addr, "@GH3@": addr})
	runProxy(t, lb, haproxy, "-db", "-f", conf)
	time.Sleep(1500 * time.Millisecond) // the health checks' rise
	from := func(ip string) *http.Client {
		tr := caClient(t, data).Transport.(*http.Transport).Clone()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		tr.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) { return d.DialContext(ctx, network, a) }
		tr.TLSClientConfig = tr.TLSClientConfig.Clone()
		tr.TLSClientConfig.MinVersion = tls.VersionTLS12
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	attacker, victim := from("127.0.0.2"), from("127.0.0.3")
	codes := map[int]int{}
	for i := range 31 {
		req, _ := http.NewRequest("GET", "https://"+lb+"/api/status", nil)
		req.SetBasicAuth("nobody"+string(rune('a'+i%26)), "wrong")
		code, _ := getStatus(t, attacker, req)
		codes[code]++
	}
	if codes[429] == 0 {
		t.Errorf("the attacker's 31 wrong logins from one address were never throttled: %v", codes)
	}
	req, _ := http.NewRequest("GET", "https://"+lb+"/xcatws/nodes", nil)
	req.SetBasicAuth("wsuser", c.xcatPW)
	if code, body := getStatus(t, victim, req); code != 200 {
		t.Errorf("another client's first, right login behind the balancer: %d %s (attacker: %v)", code, body, codes)
	}
}
