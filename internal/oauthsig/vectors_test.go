package oauthsig_test

import (
	"github.com/gatehouse/gatehouse/internal/oauthsig"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RFC 5849 §3.4.1.1: the signature base string example.
func TestRFC5849BaseStringExample(t *testing.T) {
	header, ok, err := oauthsig.ParseHeader(`OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", oauth_token="kkk9d7dh3k39sjv7", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="7d8f3e4a", oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"`)
	require.NoError(t, err)
	require.True(t, ok)
	query, err := oauthsig.ParseForm("b5=%3D%253D&a3=a&c%40=&a2=r%20b")
	require.NoError(t, err)
	body, err := oauthsig.ParseForm("c2&a3=2+q")
	require.NoError(t, err)
	var params []oauthsig.Param
	for _, p := range append(append(header, query...), body...) {
		if p.Name != "realm" && p.Name != "oauth_signature" {
			params = append(params, p)
		}
	}
	assert.Equal(t, "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7",
		oauthsig.NormalizeParams(params), "§3.4.1.3.2")
	assert.Equal(t, "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7",
		oauthsig.BaseString("POST", oauthsig.BaseURI("http", "example.com", "/request"), params))
}

// The OAuth Core 1.0a reference example (Appendix A.5.1–A.5.2) with its
// HMAC-SHA1 signature.
func TestOAuthCoreReferenceSignature(t *testing.T) {
	params := []oauthsig.Param{
		{Name: "file", Value: "vacation.jpg"}, {Name: "size", Value: "original"},
		{Name: "oauth_consumer_key", Value: "dpf43f3p2l4k3l03"}, {Name: "oauth_token", Value: "nnch734d00sl2jdk"},
		{Name: "oauth_nonce", Value: "kllo9940pd9333jh"}, {Name: "oauth_timestamp", Value: "1191242096"},
		{Name: "oauth_signature_method", Value: "HMAC-SHA1"}, {Name: "oauth_version", Value: "1.0"},
	}
	base := oauthsig.BaseString("GET", oauthsig.BaseURI("http", "photos.example.net", "/photos"), params)
	assert.Equal(t, "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1191242096%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0%26size%3Doriginal", base)
	assert.Equal(t, "tR3+Ty81lMeYAr/Fid0kMTYa/WM=", oauthsig.HMACSignature("HMAC-SHA1", base, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00"))
}

// The classic OAuth 1.0 test cases for percent-encoding.
func TestEncode(t *testing.T) {
	for in, want := range map[string]string{
		"abcABC123": "abcABC123", "-._~": "-._~", "%": "%25", "+": "%2B", "&=*": "%26%3D%2A",
		"\n": "%0A", " ": "%20", "\x7f": "%7F", "\u0080": "%C2%80", "\u3001": "%E3%80%81", "": "",
	} {
		assert.Equal(t, want, oauthsig.Encode(in), "%q", in)
	}
}

// The classic OAuth 1.0 test cases for parameter normalization.
func TestNormalizeParams(t *testing.T) {
	for in, want := range map[string]string{
		"name":        "name=",
		"a=b":         "a=b",
		"a=b&c=d":     "a=b&c=d",
		"a=x!y&a=x+y": "a=x%20y&a=x%21y",
		"x!y=a&x=a":   "x=a&x%21y=a",
	} {
		p, err := oauthsig.ParseForm(in)
		require.NoError(t, err)
		assert.Equal(t, want, oauthsig.NormalizeParams(p), in)
	}
}

func TestBaseURI(t *testing.T) {
	for _, c := range []struct{ scheme, host, path, want string }{
		{"HTTP", "Example.com:80", "/resource", "http://example.com/resource"},
		{"https", "www.example.net:8080", "/", "https://www.example.net:8080/"},
		{"https", "example.com:443", "/a%20b", "https://example.com/a%20b"},
		{"http", "example.com:443", "/", "http://example.com:443/"},
		{"https", "[::1]:443", "", "https://[::1]/"},
		{"https", "[::1]:8443", "/x", "https://[::1]:8443/x"},
	} {
		assert.Equal(t, c.want, oauthsig.BaseURI(c.scheme, c.host, c.path))
	}
}

func TestParseHeader(t *testing.T) {
	quoted, ok, err := oauthsig.ParseHeader(`OAuth oauth_consumer_key="key", oauth_nonce="a%2Bb%3D"`)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []oauthsig.Param{{Name: "oauth_consumer_key", Value: "key"}, {Name: "oauth_nonce", Value: "a+b="}}, quoted)
	bare, _, err := oauthsig.ParseHeader(`OAuth oauth_version="1.0",oauth_consumer_key=secretkey,oauth_token=""`)
	require.NoError(t, err)
	assert.Equal(t, []oauthsig.Param{{Name: "oauth_version", Value: "1.0"}, {Name: "oauth_consumer_key", Value: "secretkey"}, {Name: "oauth_token", Value: ""}}, bare)
	_, ok, _ = oauthsig.ParseHeader("Basic abc")
	assert.False(t, ok)
	for _, bad := range []string{`OAuth a="b`, `OAuth =x`, `OAuth a="b" c="d"`, `OAuth a=%zz`, `OAuth a`} {
		_, ok, err := oauthsig.ParseHeader(bad)
		assert.True(t, ok)
		assert.Error(t, err, bad)
	}
}
