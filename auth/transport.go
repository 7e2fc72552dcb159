package auth

import (
	"github.com/gatehouse/gatehouse/internal/httpx"
	"net"
	"net/http"
	"strings"
)

// RedirectHTTPS returns a handler for the plain-HTTP listener that sends every
// request to the same path over HTTPS. GET and HEAD get 301, other methods
// 308 so that clients keep the method and body. Credential parameters
// (userName, userPW, password, access_token, oauth_*) are left out of the
// target, and the redirect is sent with Cache-Control: no-store, so no
// cache keeps a password.
//
// to is either the HTTPS port ("8443"; "" or "443" leaves the port out),
// and the target is https://host[:port] with the host of the request's
// Host header (xCAT's default), or a configured external base URL
// ("https://gatehouse.example:8443"), and every request goes to the same
// path under it, whatever Host it named. The Host header is the client's
// choice: where the server's external address is known, give the URL.
func RedirectHTTPS(to string) http.Handler {
	if strings.Contains(to, "://") {
		return redirectHTTPS("", strings.TrimSuffix(to, "/"))
	}
	return redirectHTTPS(to, "")
}

func redirectHTTPS(httpsPort, base string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if base != "" {
			redirect(w, r, base)
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "missing Host header", http.StatusBadRequest)
			return
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]" // IPv6 literal
		}
		if httpsPort != "" && httpsPort != "443" {
			host = net.JoinHostPort(strings.Trim(host, "[]"), httpsPort)
		}
		redirect(w, r, "https://"+host)
	})
}

// redirect sends r to the same path and query under base, without
// credential parameters and never cached.
func redirect(w http.ResponseWriter, r *http.Request, base string) {
	target := base + r.URL.EscapedPath()
	if q := httpx.StripQueryCredentials(r.URL.RawQuery); q != "" {
		target += "?" + q
	}
	code := http.StatusPermanentRedirect
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		code = http.StatusMovedPermanently
	}
	// A cached redirect would replay forever; and the target never
	// carries a credential that arrived in the clear.
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, code)
}
