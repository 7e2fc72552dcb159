package session

// For the external tests: the store key of a session id, and the
// attribute naming the scheme that opened a session.
var (
	HashID         = hashID
	AttrAuthScheme = attrAuthScheme
)

// DefaultMaxPerUser is Config.MaxPerUser's default.
const DefaultMaxPerUser = defaultMaxPerUser
