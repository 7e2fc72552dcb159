package pwcheck_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/memstore"
)

// ldapLike checks passwords without HashSlots (an LDAP bind, PAM, a remote
// IdP) — a Verifier the documentation says is throttled "afterwards".
type ldapLike struct{ pw string }

func (l ldapLike) VerifyPassword(_ context.Context, login, pw string) (*auth.Identity, error) {
	if pw == l.pw {
		return &auth.Identity{User: login}, nil
	}
	return nil, &auth.Error{Reason: auth.ReasonInvalid, User: login, Message: "invalid user name or password"}
}

// dropsCtx is a decorator that runs the inner verifier under a context of
// its own (a timeout from Background): the gate is lost.
type dropsCtx struct{ next pwcheck.Verifier }

func (d dropsCtx) VerifyPassword(_ context.Context, login, pw string) (*auth.Identity, error) {
	return d.next.VerifyPassword(context.Background(), login, pw)
}

// Attack (found by an outside review of the throttle at the hash; failed
// before the fix: the right password, guessed 41st, got 200): a verifier
// that checks outside HashSlots, or a decorator that drops the context,
// runs no gate; its answers are judged afterwards, and over the limit even
// the right password is 429, so the limit bounds what a guesser learns.
func TestThrottleBoundsVerifiersOutsideHashSlots(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	h, _ := cheap.Hash("s3cret-42")
	if err := st.PutUser(ctx, stores.User{Name: "victim", PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]pwcheck.Verifier{
		"hashless verifier":       ldapLike{"s3cret-42"},
		"decorator drops context": dropsCtx{&pwcheck.StoreVerifier{Users: st, DummyHash: h}},
	} {
		t.Run(name, func(t *testing.T) {
			p := pwcheck.New(pwcheck.Config{Users: st, Counter: memstore.New(), MaxPerUser: 3, CacheTTL: -1})
			p.Verifier = v
			r := httptest.NewRequest("GET", "https://x/", nil)
			r.RemoteAddr = "203.0.113.9:5555"
			outcome := map[string]int{}
			checked := 0
			for i := 0; i < 50; i++ {
				pw := fmt.Sprintf("guess-%d", i)
				if i == 40 {
					pw = "s3cret-42"
				}
				_, err := p.Check(r, auth.SchemeBasic, "victim", pw)
				checked++
				switch {
				case err == nil:
					outcome["200"]++
					t.Logf("guess #%d (%q) ACCEPTED although the limit is 3", i+1, pw)
				case auth.AsError(err).Reason == auth.ReasonThrottled:
					outcome["429"]++
				default:
					outcome["401"]++
				}
			}
			t.Logf("outcomes over 50 guesses with MaxPerUser=3: %v", outcome)
			if outcome["200"] > 0 {
				t.Errorf("the right password, guessed after the limit was exhausted, was accepted: the throttle does not bound guessing")
			}
		})
	}
}
