package pwcheck_test

import (
	"context"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/memstore"
)

var cheap = password.Hasher{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}

func TestStoreVerifier(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	h, err := cheap.Hash("right")
	require.NoError(t, err)
	require.NoError(t, st.PutUser(ctx, stores.User{Name: "alice", PasswordHash: h, Groups: []string{"ops"}}))
	require.NoError(t, st.PutUser(ctx, stores.User{Name: "admin", Domain: "internal", PasswordHash: h}))
	require.NoError(t, st.PutUser(ctx, stores.User{Name: "gone", PasswordHash: h, Disabled: true}))
	require.NoError(t, st.PutUser(ctx, stores.User{Name: "nopw"}))
	// A shadow hash pasted by an admin (openssl passwd -6 cluster-secret).
	require.NoError(t, st.PutUser(ctx, stores.User{Name: "legacy", PasswordHash: "$6$a2PDWrj7qZZ0nFDc$8vP5kPJH1iim3udBYTd9mqJGlhNoFF4DZ7Vf4kkd1ZBQshk5drmfSLROjh8vlf84W6tUCN3.svMmvyptWqU4l/"}))
	v := &pwcheck.StoreVerifier{Users: st, DummyHash: h}

	for _, c := range []struct {
		login, pw string
		ok        bool
	}{
		{"alice", "right", true},
		{"admin@internal", "right", true},
		{"legacy", "cluster-secret", true},
		{"alice", "wrong", false},
		{"bob", "right", false},
		{"gone", "right", false},
		{"nopw", "", false},
		{"admin", "right", false},
	} {
		u, err := v.VerifyPassword(ctx, c.login, c.pw)
		if c.ok {
			require.NoError(t, err, c.login)
			assert.Equal(t, c.login, u.Login())
			continue
		}
		require.Error(t, err, c.login)
		e := auth.AsError(err)
		assert.Equal(t, auth.ReasonInvalid, e.Reason, c.login)
		assert.Equal(t, "invalid user name or password", e.Text(), "the same message whatever failed")
		assert.NotContains(t, err.Error(), c.pw+"x")
	}
}

func TestStoreVerifierDefaultDummyIsArgon2id(t *testing.T) {
	v := &pwcheck.StoreVerifier{Users: memstore.New()}
	_, err := v.VerifyPassword(context.Background(), "nobody", "pw")
	assert.Equal(t, auth.ReasonInvalid, auth.AsError(err).Reason)
}

// TestPipelineHashSlots: hashes outside a pipeline's verifier (OAuth 2
// client secrets) find the pipeline's bound: New hands Config.Slots to the
// pipeline; without any, and on a nil pipeline, it is DefaultHashSlots.
func TestPipelineHashSlots(t *testing.T) {
	own, other := pwcheck.NewHashSlots(1, 0), pwcheck.NewHashSlots(1, 0)
	users := memstore.New()
	assert.Same(t, own, pwcheck.New(pwcheck.Config{Users: users, Slots: own}).HashSlots())
	assert.Same(t, pwcheck.DefaultHashSlots, pwcheck.New(pwcheck.Config{Users: users}).HashSlots())
	assert.Same(t, other, (&pwcheck.Pipeline{Verifier: &pwcheck.StoreVerifier{Users: users}, Slots: other}).HashSlots())
	assert.Same(t, pwcheck.DefaultHashSlots, (&pwcheck.Pipeline{Verifier: &pwcheck.StoreVerifier{Users: users}}).HashSlots())
	var none *pwcheck.Pipeline
	assert.Same(t, pwcheck.DefaultHashSlots, none.HashSlots())
}
