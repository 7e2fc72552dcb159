// Package finish composes the Finish steps of auth.Result: what schemes
// do after a request is authenticated and authorized (strip credentials
// from the URL, set a session cookie), in order.
package finish

import "net/http"

// Func is the type of auth.Result.Finish.
type Func = func(w http.ResponseWriter, r *http.Request) *http.Request

// Then returns a step that runs first, when it is set, then next.
func Then(first, next Func) Func {
	if first == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) *http.Request { return next(w, first(w, r)) }
}
