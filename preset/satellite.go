package preset

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/internal/envx"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/token"
)

// foremanPATPath is where Foreman's personal access token API lives: POST
// to create (the secret is shown once), GET to list, DELETE …/{id} to
// revoke; a user manages only their own tokens.
const foremanPATPath = "/api/users/{login}/personal_access_tokens"

// withForemanPATs serves Foreman's PAT API in front of api.
func (p *Presets) withForemanPATs(api http.Handler) http.Handler {
	pats := &foremanPATs{tokens: p.tokens, now: envx.Clock(p.opts.Env.Now)}
	mux := route.New()
	mux.HandleFunc("POST "+foremanPATPath, pats.create)
	mux.HandleFunc("GET "+foremanPATPath, pats.list)
	mux.HandleFunc("DELETE "+foremanPATPath+"/{id}", pats.revoke)
	mux.Handle("/", api)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// foremanPATs is Foreman's personal access token API: a user manages their
// own tokens.
type foremanPATs struct {
	tokens *token.Service
	now    func() time.Time
}

// owner answers 403 unless the authenticated user is the path's login.
func (a *foremanPATs) owner(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, _ := auth.IdentityFrom(r.Context())
	login := r.PathValue("login")
	if id == nil || id.Login() != login {
		foremanFailure(w, http.StatusForbidden, "you may only manage your own personal access tokens")
		return "", false
	}
	if r.Method == http.MethodPost && id.Scheme != auth.SchemeBasic {
		// A token (or an OAuth 1 consumer acting as the user) must not mint
		// tokens that outlive it: only the account's password creates them
		// (listing and revoking one's own need no more than any login).
		foremanFailure(w, http.StatusForbidden, "personal access tokens are created with the account's password, not with a token or a consumer")
		return "", false
	}
	return login, true
}

type patJSON struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Token     string  `json:"token_value,omitempty"`
	ExpiresAt *string `json:"expires_at"`
	LastUsed  *string `json:"last_used_at"`
	Active    bool    `json:"active"`
	Revoked   bool    `json:"revoked"`
	CreatedAt string  `json:"created_at"`
}

func toPATJSON(t stores.Token, now time.Time) patJSON {
	j := patJSON{ID: t.ID, Name: t.Name, Active: t.Active(now), Revoked: !t.Revoked.IsZero(), CreatedAt: t.Created.UTC().Format(time.RFC3339)}
	if !t.Expires.IsZero() {
		s := t.Expires.UTC().Format(time.RFC3339)
		j.ExpiresAt = &s
	}
	if !t.LastUsed.IsZero() {
		s := t.LastUsed.UTC().Format(time.RFC3339)
		j.LastUsed = &s
	}
	return j
}

func (a *foremanPATs) create(w http.ResponseWriter, r *http.Request) {
	login, ok := a.owner(w, r)
	if !ok {
		return
	}
	var body struct {
		PAT struct {
			Name      string `json:"name"`
			ExpiresAt string `json:"expires_at"`
		} `json:"personal_access_token"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil || body.PAT.Name == "" {
		foremanFailure(w, http.StatusBadRequest, `expected {"personal_access_token":{"name":"…","expires_at":"…"}}`)
		return
	}
	spec := token.PATSpec{Login: login, Name: body.PAT.Name}
	if body.PAT.ExpiresAt != "" {
		t, err := parseForemanTime(body.PAT.ExpiresAt)
		if err != nil || !t.After(a.now()) {
			foremanFailure(w, http.StatusUnprocessableEntity, "expires_at must be a future time (RFC 3339 or YYYY-MM-DD)")
			return
		}
		spec.Expires = t
	}
	pat, err := a.tokens.CreatePAT(r.Context(), spec)
	var ae *auth.Error
	switch {
	case err == nil:
	case errors.Is(err, stores.ErrConflict):
		foremanFailure(w, http.StatusUnprocessableEntity, "name has already been taken")
		return
	case errors.Is(err, token.ErrBadName), errors.Is(err, stores.ErrInvalid):
		foremanFailure(w, http.StatusUnprocessableEntity, "name must be 1–255 characters of printable UTF-8")
		return
	case errors.As(err, &ae):
		foremanFailure(w, ae.Status(), ae.Text())
		return
	default:
		// A store failure (disk full, database down): 503 with
		// Retry-After, and never the store's own words in the body.
		w.Header().Set("Retry-After", "1")
		foremanFailure(w, http.StatusServiceUnavailable, "the token store is unavailable; try again shortly")
		return
	}
	j := toPATJSON(pat.Token, a.now())
	j.Token = pat.Secret
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, j)
}

func parseForemanTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", s)
}

func (a *foremanPATs) list(w http.ResponseWriter, r *http.Request) {
	login, ok := a.owner(w, r)
	if !ok {
		return
	}
	toks, err := a.tokens.List(r.Context(), login, stores.TokenPAT)
	if err != nil {
		w.Header().Set("Retry-After", "1")
		foremanFailure(w, http.StatusServiceUnavailable, "token store unavailable")
		return
	}
	results := make([]patJSON, 0, len(toks))
	for _, t := range toks {
		results = append(results, toPATJSON(t, a.now()))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(results), "subtotal": len(results), "page": 1, "per_page": len(results), "results": results})
}

func (a *foremanPATs) revoke(w http.ResponseWriter, r *http.Request) {
	login, ok := a.owner(w, r)
	if !ok {
		return
	}
	if err := a.tokens.Revoke(r.Context(), login, r.PathValue("id")); errors.Is(err, stores.ErrNotFound) {
		foremanFailure(w, http.StatusNotFound, "personal access token not found")
		return
	} else if err != nil {
		w.Header().Set("Retry-After", "1")
		foremanFailure(w, http.StatusServiceUnavailable, "token store unavailable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "revoked": true})
}
