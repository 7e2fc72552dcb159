package auth

// For the external tests.
var MatchPath = matchPath

// MaxPathSegments is the most segments a path may have.
const MaxPathSegments = maxPathSegments
