package auth_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store/memstore"
)

func TestThrottleVerifyPassword(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	h, err := cheap.Hash("right")
	require.NoError(t, err)
	require.NoError(t, st.PutUser(ctx, auth.User{Name: "u", PasswordHash: h}))
	v := &auth.StoreVerifier{Users: st, DummyHash: h}
	th := &auth.Throttle{Counter: st, MaxPerUser: 3}
	count := func() int { n, _, _ := st.Failures(ctx, "user", "u"); return n }
	try := func(pw string, forgive bool) error {
		_, err := th.VerifyPassword(ctx, v, auth.Attempt{Scheme: "basic", Login: "u", Password: pw, Addr: "10.0.0.1", ForgiveRepeat: forgive})
		return err
	}

	require.Error(t, try("a", true))
	require.Error(t, try("a", true))
	assert.Equal(t, 1, count(), "the immediate repeat is forgiven")
	require.Error(t, try("a", true))
	assert.Equal(t, 2, count(), "only once: a third try counts")
	require.Error(t, try("b", false))
	e := auth.AsError(try("right", false))
	assert.Equal(t, auth.ReasonThrottled, e.Reason, "limit reached: even the right password waits")
	assert.Equal(t, "basic", e.Scheme)

	var nilThrottle *auth.Throttle
	id, err := nilThrottle.VerifyPassword(ctx, v, auth.Attempt{Scheme: "query", Login: "u", Password: "right"})
	require.NoError(t, err)
	assert.Equal(t, "query", id.Scheme)
	_, err = nilThrottle.VerifyPassword(ctx, v, auth.Attempt{Scheme: "query", Login: "u", Password: "wrong"})
	assert.Equal(t, "u", auth.AsError(err).User)
}
