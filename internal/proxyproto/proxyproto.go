// Package proxyproto reads the PROXY protocol header (versions 1 and 2, as
// HAProxy's send-proxy and send-proxy-v2 write it) that a load balancer
// passing TLS through puts before each connection, so that the server
// sees the client's address, not the balancer's: the throttle counts by
// it, and the audit log names it.
//
// Only connections from trusted addresses are read for a header, and from
// those a header is required: a client cannot claim an address, and a
// balancer that forgot the header is noticed at once.
package proxyproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Listener wraps a listener whose connections from Trusted prefixes begin
// with a PROXY protocol header. Accept does not wait for the header: it is
// read, within Timeout (default 5 s), when the connection is first read
// or asked for its remote address.
type Listener struct {
	net.Listener
	Trusted []netip.Prefix
	Timeout time.Duration
}

// Accept implements net.Listener.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil || !l.trusted(ap.Addr().Unmap()) {
		return c, nil
	}
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &conn{Conn: c, r: bufio.NewReaderSize(c, 256), timeout: timeout}, nil
}

func (l *Listener) trusted(a netip.Addr) bool {
	for _, p := range l.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// conn is a trusted connection whose header is read once.
type conn struct {
	net.Conn
	r       *bufio.Reader
	timeout time.Duration

	once   sync.Once
	remote net.Addr
	err    error
}

func (c *conn) header() error {
	c.once.Do(func() {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
		c.remote, c.err = Read(c.r)
		_ = c.Conn.SetReadDeadline(time.Time{})
		if c.err != nil {
			_ = c.Conn.Close()
		}
	})
	return c.err
}

// Read implements net.Conn: the bytes after the header.
func (c *conn) Read(b []byte) (int, error) {
	if err := c.header(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

// RemoteAddr implements net.Conn: the client's address from the header
// (the balancer's for a LOCAL header, such as a health check's).
func (c *conn) RemoteAddr() net.Addr {
	if c.header() == nil && c.remote != nil {
		return c.remote
	}
	return c.Conn.RemoteAddr()
}

var sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")

// ErrNoHeader is what a trusted connection gets when it does not begin
// with a PROXY protocol header.
var ErrNoHeader = errors.New("proxyproto: a trusted connection without a PROXY protocol header")

// Read reads one PROXY protocol header (version 1 or 2) from r and returns
// the client's address, or nil for a header that names none (v1 UNKNOWN,
// v2 LOCAL: the balancer's own connection).
func Read(r *bufio.Reader) (net.Addr, error) {
	peek, err := r.Peek(12)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoHeader, err)
	}
	switch {
	case bytes.Equal(peek, sigV2):
		return readV2(r)
	case bytes.HasPrefix(peek, []byte("PROXY ")):
		return readV1(r)
	}
	return nil, ErrNoHeader
}

func readV1(r *bufio.Reader) (net.Addr, error) {
	var line []byte
	for len(line) < 107 { // the longest v1 header
		b, err := r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("proxyproto: v1 header: %w", err)
		}
		line = append(line, b)
		if b == '\n' {
			break
		}
	}
	s, ok := strings.CutSuffix(string(line), "\r\n")
	if !ok {
		return nil, errors.New("proxyproto: v1 header not ended by CRLF within 107 bytes")
	}
	f := strings.Split(s, " ")
	if len(f) >= 2 && f[1] == "UNKNOWN" {
		return nil, nil
	}
	if len(f) != 6 || (f[1] != "TCP4" && f[1] != "TCP6") {
		return nil, fmt.Errorf("proxyproto: malformed v1 header %q", s)
	}
	ip, err := netip.ParseAddr(f[2])
	if err != nil || ip.Is4() != (f[1] == "TCP4") {
		return nil, fmt.Errorf("proxyproto: v1 source address %q", f[2])
	}
	port, err := strconv.ParseUint(f[4], 10, 16)
	if err != nil {
		return nil, fmt.Errorf("proxyproto: v1 source port %q", f[4])
	}
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))), nil
}

func readV2(r *bufio.Reader) (net.Addr, error) {
	var hdr [16]byte
	if _, err := readFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("proxyproto: v2 header: %w", err)
	}
	verCmd, fam, n := hdr[12], hdr[13], int(binary.BigEndian.Uint16(hdr[14:16]))
	if verCmd>>4 != 2 {
		return nil, fmt.Errorf("proxyproto: v2 header of version %d", verCmd>>4)
	}
	body := make([]byte, n)
	if _, err := readFull(r, body); err != nil {
		return nil, fmt.Errorf("proxyproto: v2 addresses: %w", err)
	}
	switch verCmd & 0xf {
	case 0: // LOCAL: the balancer's own connection (a health check)
		return nil, nil
	case 1: // PROXY
	default:
		return nil, fmt.Errorf("proxyproto: v2 command %d", verCmd&0xf)
	}
	switch fam {
	case 0x11: // TCP over IPv4
		if n < 12 {
			return nil, errors.New("proxyproto: v2 IPv4 addresses too short")
		}
		ip := netip.AddrFrom4([4]byte(body[0:4]))
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, binary.BigEndian.Uint16(body[8:10]))), nil
	case 0x21: // TCP over IPv6
		if n < 36 {
			return nil, errors.New("proxyproto: v2 IPv6 addresses too short")
		}
		ip := netip.AddrFrom16([16]byte(body[0:16]))
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, binary.BigEndian.Uint16(body[32:34]))), nil
	case 0x00: // UNSPEC
		return nil, nil
	}
	return nil, fmt.Errorf("proxyproto: v2 address family %#x", fam)
}

func readFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
