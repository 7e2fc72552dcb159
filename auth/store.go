package auth

import (
	"context"

	"github.com/gatehouse/gatehouse/auth/stores"
)

// PolicyStore supplies the rules of a RuleTable.
type PolicyStore interface {
	Rules(ctx context.Context) ([]Rule, error)
}

// UserIdentity builds the Identity the user proves with scheme.
func UserIdentity(u *stores.User, scheme string) *Identity {
	return &Identity{User: u.Name, Domain: u.Domain, Groups: u.Groups, Scheme: scheme}
}
