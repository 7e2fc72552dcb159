package preset

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/token"
)

func TestParseExpireDays(t *testing.T) {
	for in, want := range map[string]time.Duration{"1": 24 * time.Hour, "30": 720 * time.Hour, "never": token.Never, "NEVER": token.Never} {
		got, err := ParseExpireDays(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	for _, bad := range []string{"0", "-1", "1.5", "1d", "", "07"} {
		_, err := ParseExpireDays(bad)
		assert.Error(t, err, bad)
	}
}

func TestXCATTime(t *testing.T) {
	assert.Equal(t, "2014-3-10 9:56:12", xcatTime(time.Date(2014, 3, 10, 9, 56, 12, 0, time.UTC)))
	assert.Equal(t, "2026-1-2 0:5:7", xcatTime(time.Date(2026, 1, 2, 0, 5, 7, 0, time.UTC)))
}
