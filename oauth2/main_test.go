package oauth2_test

import (
	"os"
	"testing"

	"github.com/gatehouse/gatehouse/auth/pwcheck"
)

// TestMain turns off the process-wide hashing CPU budget for this test
// binary. Its tests check client secrets (argon2id at full cost, through
// pwcheck.DefaultHashSlots) one after another, faster than a tenth of a
// slow 2-core machine under the race detector earns back, and then a check
// waits past the 500 ms bound and gets 503 ("too many checks at once").
// The budget is auth/pwcheck's to test.
func TestMain(m *testing.M) {
	pwcheck.DefaultHashSlots.SetCPUShare(0)
	os.Exit(m.Run())
}
