// Package external is a service of someone else's that uses gatehouse: its
// handler knows nothing of authentication beyond auth.IdentityFrom, and its
// test (api_test.go) exercises it behind all eight schemes through the
// public API and package authtest only. It is its own module, with a
// replace directive pointing at this repository, as a user's would be.
package external

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// Inventory answers who asked and how they authenticated.
func Inventory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := auth.IdentityFrom(r.Context())
		if !ok {
			http.Error(w, "no identity", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"user": id.Login(), "scheme": id.Scheme})
	})
}
