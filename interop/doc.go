// Package interop drives the demonstration server with real third-party
// clients — Debian's Python (requests, requests-oauthlib, authlib) and Ruby
// (oauth, rest-client, oauth2) libraries, npm's oauth-1.0a, oauth and
// simple-oauth2 (pinned in node/package-lock.json), curl, httpie, wget and
// openssl — the way the products' own users call them. Each client script
// under clients/ prints "ok NAME" or "FAIL NAME: why" per check; the test
// asserts every line. .ci/run installs the clients; without them the tests
// skip, unless GATEHOUSE_REQUIRE_INTEGRATION=1.
package interop
