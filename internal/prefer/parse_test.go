package prefer_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gatehouse/gatehouse/internal/prefer"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   []string
		want prefer.Preferences
	}{
		{[]string{"persistent-auth"}, prefer.Preferences{"persistent-auth": ""}},
		{[]string{"Persistent-Auth, return=minimal"}, prefer.Preferences{"persistent-auth": "", "return": "minimal"}},
		{[]string{"return=minimal", "persistent-auth"}, prefer.Preferences{"persistent-auth": "", "return": "minimal"}},
		{[]string{`foo="a,b"; p=1, wait=10`}, prefer.Preferences{"foo": "a,b", "wait": "10"}},
		{[]string{"wait=1, wait=2"}, prefer.Preferences{"wait": "1"}},
		{[]string{`x="q\"uote"`}, prefer.Preferences{"x": `q"uote`}},
		{[]string{", ,bad name, ok"}, prefer.Preferences{"ok": ""}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, prefer.Parse(c.in), "%q", c.in)
	}
	assert.True(t, prefer.Parse([]string{"persistent-auth"}).Has("persistent-auth"))
}
