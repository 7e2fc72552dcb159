package preset

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/authlog"
	"github.com/gatehouse/gatehouse/internal/envx"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/internal/creds"
	"github.com/gatehouse/gatehouse/token"
)

// ParseExpireDays reads xCAT's tokenexpiredays setting: a whole number of
// days, or "never".
func ParseExpireDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "never") {
		return token.Never, nil
	}
	var days int
	if _, err := fmt.Sscan(s, &days); err != nil || days < 1 || fmt.Sprint(days) != s {
		return 0, fmt.Errorf("preset: expire days %q: want a whole number of days ≥ 1 or \"never\"", s)
	}
	return time.Duration(days) * 24 * time.Hour, nil
}

// XCATTokens is xCAT's token resource (the XCAT face mounts it at
// XCATPrefix+"tokens"): POST the user's credentials, get an
// access token. Credentials come from the query string (userName/userPW, or
// the legacy password), which wins as in xCAT, else from a JSON body
// {"userName":…,"userPW":…}, else from HTTP Basic. The answer is
// 201 Created with
//
//	{"token":{"id":"gate_at_…","expire":"2026-11-23 6:40:1","expires_at":"2026-11-23T06:40:01Z"}}
//
// where expire is xCAT's own form (server local time, no zero padding) or
// "never", and expires_at is RFC 3339 UTC (absent for never).
type XCATTokens struct {
	Service *token.Service
	// Passwords checks the password: the pipeline shared with the other
	// schemes (pwcheck.New). Required.
	Passwords *pwcheck.Pipeline
	// Responder renders failures; default XCATDialect().
	Responder auth.Responder
	// Location is the time zone of "expire"; default time.Local, as xCAT.
	Location *time.Location
	// Env is the service's shared settings (auth.Env): TLS proxy,
	// plain-HTTP policy, audit log, clock.
	Env auth.Env
}

// xcatTokenResponse is the 201 body.
type xcatTokenResponse struct {
	Token struct {
		ID        string `json:"id"`
		Expire    string `json:"expire"`
		ExpiresAt string `json:"expires_at,omitempty"`
	} `json:"token"`
}

// xcatTime formats t the way xCAT writes token expiry: "2014-3-10 9:56:12"
// style, no zero padding in any field.
func xcatTime(t time.Time) string {
	return fmt.Sprintf("%d-%d-%d %d:%d:%d", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second())
}

const maxXCATTokenBody = 64 << 10

// ServeHTTP implements http.Handler: one token request.
func (h *XCATTokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	responder := h.Responder
	if responder == nil {
		responder = XCATDialect()
	}
	fail := func(e *auth.Error) {
		authlog.Failure(h.Env.Audit, r, e)
		if e.Status() == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse", charset="UTF-8"`)
		}
		responder.Error(w, r, e)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST to request a token", http.StatusMethodNotAllowed)
		return
	}
	if !envx.CredentialsAllowed(r, h.Env.AllowInsecure, h.Env.TrustForwarded) {
		fail(&auth.Error{Reason: auth.ReasonInsecure, Scheme: auth.SchemeToken, Message: "credentials sent over plain HTTP are refused; use HTTPS"})
		return
	}
	login, pw, err := xcatCredentials(r)
	if err != nil {
		fail(auth.AsError(err))
		return
	}
	ctx := r.Context()
	id, err := h.Passwords.Check(r, auth.SchemeToken, login, pw)
	if err != nil {
		fail(auth.AsError(err))
		return
	}
	issued, err := h.Service.IssueAccess(ctx, id, nil)
	if err != nil {
		fail(&auth.Error{Reason: auth.ReasonUnavailable, Scheme: auth.SchemeToken, Cause: err})
		return
	}
	authlog.Success(h.Env.Audit, r, id)
	var body xcatTokenResponse
	body.Token.ID = issued.Secret
	body.Token.Expire = "never"
	if exp := issued.Token.Expires; !exp.IsZero() {
		loc := h.Location
		if loc == nil {
			loc = time.Local
		}
		body.Token.Expire = xcatTime(exp.In(loc))
		body.Token.ExpiresAt = exp.UTC().Format(time.RFC3339)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(body)
}

func xcatMalformed(msg string) error {
	return &auth.Error{Reason: auth.ReasonMalformed, Scheme: auth.SchemeToken, Message: msg}
}

// issueCredentials finds the login and password of a token request.
func xcatCredentials(r *http.Request) (login, pw string, err error) {
	if len(r.Header.Values("Authorization")) > 1 {
		return "", "", xcatMalformed("more than one Authorization header")
	}
	// The query and Basic are parsed as basic parses them (internal/creds):
	// the same credential is never accepted here and refused there.
	if user, pw, perr := creds.ParseQuery(r.URL.RawQuery, "userName", []string{"userPW", "password"}); perr != nil {
		perr.Scheme = auth.SchemeToken
		return "", "", perr
	} else if user != "" {
		return user, pw, nil
	}
	if r.Body != nil && r.ContentLength != 0 {
		raw, err := io.ReadAll(io.LimitReader(r.Body, maxXCATTokenBody+1))
		if err != nil {
			return "", "", xcatMalformed("cannot read the request body")
		}
		if len(raw) > maxXCATTokenBody {
			return "", "", xcatMalformed("request body too large")
		}
		if len(strings.TrimSpace(string(raw))) > 0 {
			var body struct {
				UserName *string `json:"userName"`
				UserPW   *string `json:"userPW"`
				Password *string `json:"password"`
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				return "", "", xcatMalformed("request body is not the JSON object {\"userName\":…,\"userPW\":…}")
			}
			if body.UserName != nil {
				pw := body.UserPW
				if pw == nil {
					pw = body.Password
				}
				if pw == nil {
					return "", "", xcatMalformed("userName given without userPW")
				}
				if e := creds.CheckUser(*body.UserName); e != nil {
					e.Scheme = auth.SchemeToken
					return "", "", e
				}
				if strings.IndexByte(*pw, 0) >= 0 {
					return "", "", xcatMalformed("password contains a NUL byte")
				}
				return *body.UserName, *pw, nil
			}
		}
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Basic") {
			return "", "", xcatMalformed("Authorization header is not HTTP Basic")
		}
		user, pw, perr := creds.ParseBasic(rest, maxXCATTokenBody)
		if perr != nil {
			perr.Scheme = auth.SchemeToken
			return "", "", perr
		}
		return user, pw, nil
	}
	return "", "", &auth.Error{Reason: auth.ReasonMissing, Scheme: auth.SchemeToken, Message: "send userName and userPW to get a token"}
}
