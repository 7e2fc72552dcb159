package proxyproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

func v2(cmd, fam byte, addrs []byte) []byte {
	b := append([]byte{}, sigV2...)
	b = append(b, 0x20|cmd, fam, 0, 0)
	binary.BigEndian.PutUint16(b[14:16], uint16(len(addrs)))
	return append(b, addrs...)
}

func TestRead(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want string // the address, "" for none, "error" for an error
	}{
		{"v1 TCP4", []byte("PROXY TCP4 192.0.2.7 198.51.100.1 51000 8443\r\nGET"), "192.0.2.7:51000"},
		{"v1 TCP6", []byte("PROXY TCP6 2001:db8::7 2001:db8::1 51000 8443\r\n"), "[2001:db8::7]:51000"},
		{"v1 UNKNOWN", []byte("PROXY UNKNOWN\r\n"), ""},
		{"v1 without CRLF", []byte("PROXY TCP4 192.0.2.7 198.51.100.1 51000 8443\n"), "error"},
		{"v1 v6 address as TCP4", []byte("PROXY TCP4 2001:db8::7 2001:db8::1 1 2\r\n"), "error"},
		{"v1 overlong", []byte("PROXY " + strings.Repeat("x", 200) + "\r\n"), "error"},
		{"v2 TCP4", v2(1, 0x11, []byte{192, 0, 2, 7, 198, 51, 100, 1, 0xc7, 0x38, 0x20, 0xfb}), "192.0.2.7:51000"},
		{"v2 LOCAL", v2(0, 0x00, nil), ""},
		{"v2 short addresses", v2(1, 0x11, []byte{1, 2, 3}), "error"},
		{"TLS, no header", []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03abcd"), "error"},
	} {
		addr, err := Read(bufio.NewReader(bytes.NewReader(c.in)))
		got := ""
		switch {
		case err != nil:
			got = "error"
		case addr != nil:
			got = addr.String()
		}
		if got != c.want {
			t.Errorf("%s: %q (%v), want %q", c.name, got, err, c.want)
		}
	}
}

// FuzzRead: no input panics the parser or reads past what it was given.
func FuzzRead(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.7 198.51.100.1 51000 8443\r\n"))
	f.Add(v2(1, 0x11, []byte{192, 0, 2, 7, 198, 51, 100, 1, 0xc7, 0x38, 0x20, 0xfb}))
	f.Add(v2(1, 0x21, make([]byte, 36)))
	f.Fuzz(func(t *testing.T, b []byte) {
		addr, err := Read(bufio.NewReader(bytes.NewReader(b)))
		if err == nil && addr != nil && addr.String() == "" {
			t.Fatal("an empty address without an error")
		}
	})
}
