package auth

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/pathcheck"
)

// For the external tests.
var MatchPath = matchPath

// MaxPathSegments is the most segments a path may have.
const MaxPathSegments = pathcheck.MaxSegments

// CheckPath is the Middleware's path check, without the opt-in for encoded
// separators.
func CheckPath(r *http.Request) error { return checkPath(r, false) }
