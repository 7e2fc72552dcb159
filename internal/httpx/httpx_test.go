package httpx

import "testing"

// TestStripQueryCredentials: credential parameters go, the rest stays in
// its order and encoding, also after a ";" (found by an outside review:
// Perl's CGI.pm splits on it, so "a=1;userPW=x" carried the password on).
func TestStripQueryCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"userName=wsuser&userPW=secret&format=json": "format=json",
		"a=1;userPW=x":                 "a=1",
		"userPW=x;a=1&b=2":             "a=1&b=2",
		"a=1;b=2&oauth_nonce=1;c=3":    "a=1;b=2&c=3",
		"user%50W=x&password=y&page=2": "page=2",
		"q=a%3Bb":                      "q=a%3Bb",
		";;userPW=x;;":                 "",
		"":                             "",
	} {
		if got := StripQueryCredentials(in); got != want {
			t.Errorf("StripQueryCredentials(%q) = %q, want %q", in, got, want)
		}
	}
}
