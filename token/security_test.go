package token_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/memstore"
	"github.com/gatehouse/gatehouse/token"
)

// adminTokens gives admin a PAT and an access token.
func adminTokens(t *testing.T, e *env) (pat, access token.Issued) {
	t.Helper()
	pat, err := e.svc.CreatePAT(context.Background(), token.PATSpec{Login: "admin", Name: "ci"})
	require.NoError(t, err)
	access, err = e.svc.IssueAccess(context.Background(), &auth.Identity{User: "admin"}, nil)
	require.NoError(t, err)
	return pat, access
}

// Attack: tokens were bound to a login string. After the user was deleted
// and a new account created with the same name, the old PAT (and access
// token) authenticated as the new account.
func TestTokensDieWithTheirAccount(t *testing.T) {
	e := newEnv(t, token.Config{})
	ctx := context.Background()
	pat, access := adminTokens(t, e)

	old, _ := e.store.User(ctx, "admin")
	require.NoError(t, e.store.DeleteUser(ctx, "admin"))
	require.NoError(t, e.store.PutUser(ctx, stores.User{Name: "admin", PasswordHash: old.PasswordHash}))
	// Even had the store not revoked them on delete, the new account is
	// another account: put the records back as they were to prove it.
	for _, id := range []string{pat.Token.ID, access.Token.ID} {
		stored, err := e.store.TokenByID(ctx, id)
		require.NoError(t, err)
		assert.False(t, stored.Revoked.IsZero(), "deleting the user revoked %s", stored.Kind)
	}
	// Even where a store kept them unrevoked (records restored from a
	// backup, a store that does not revoke on delete), the new account is
	// another account.
	st2 := memstore.New()
	require.NoError(t, st2.PutUser(ctx, stores.User{Name: "admin", PasswordHash: old.PasswordHash}))
	for _, tok := range []stores.Token{pat.Token, access.Token} {
		require.NoError(t, st2.CreateToken(ctx, tok))
	}
	svc2 := token.New(token.Config{Store: st2, Users: st2, Env: auth.Env{Now: e.clk.Now}})
	for _, c := range []struct{ secret, prefix string }{{pat.Secret, token.PrefixPAT}, {access.Secret, token.PrefixAccess}} {
		_, err := svc2.Verify(ctx, c.secret, c.prefix, auth.SchemeToken)
		require.Error(t, err, c.prefix)
		assert.Equal(t, auth.ReasonInvalid, auth.AsError(err).Reason)
	}
}

// A password change ends access and refresh tokens (PATs stay, as in
// Foreman); a rehash of the same password after login ends nothing.
func TestPasswordChangeRevokes(t *testing.T) {
	e := newEnv(t, token.Config{})
	ctx := context.Background()
	pat, access := adminTokens(t, e)
	u, _ := e.store.User(ctx, "admin")
	rehashed, _ := password.Hash("satellite-pw")
	require.NoError(t, e.store.RehashPassword(ctx, "admin", u.PasswordHash, rehashed))
	_, err := e.svc.Verify(ctx, access.Secret, token.PrefixAccess, auth.SchemeToken)
	require.NoError(t, err, "a rehash is no password change")

	changed := *u
	changed.PasswordHash, _ = password.Hash("new-password")
	require.NoError(t, e.store.PutUser(ctx, changed))
	_, err = e.svc.Verify(ctx, access.Secret, token.PrefixAccess, auth.SchemeToken)
	require.Error(t, err)
	assert.Equal(t, auth.ReasonRevoked, auth.AsError(err).Reason)
	_, err = e.svc.Verify(ctx, pat.Secret, token.PrefixPAT, auth.SchemePAT)
	assert.NoError(t, err, "PATs survive a password change by default")

	keepNone := token.New(token.Config{Store: e.store, Users: e.store, PasswordChangeRevokes: []string{stores.TokenPAT}, Env: auth.Env{Now: e.clk.Now}})
	_, err = keepNone.Verify(ctx, pat.Secret, token.PrefixPAT, auth.SchemePAT)
	assert.Error(t, err, "configured: PATs end too")
}

// Attack: two Authorization headers at the xCAT token endpoint.
func TestIssueDuplicateAuthorization(t *testing.T) {
	e := newEnv(t, token.Config{})
	req, _ := http.NewRequest("POST", e.srv.URL+"/xcatws/tokens", nil)
	req.Header.Add("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("wsuser:cluster-secret")))
	req.Header.Add("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("other:other-pw")))
	res, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 400, res.StatusCode)
}
