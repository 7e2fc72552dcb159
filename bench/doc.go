// Package bench measures gatehouse against peer libraries doing the same
// work, in one run with one harness: github.com/abbot/go-http-auth (Basic
// with bcrypt and md5-crypt hashes), github.com/alexedwards/scs/v2 and
// github.com/gorilla/sessions (sessions), github.com/mrjones/oauth (an
// OAuth 1 provider), github.com/ory/fosite (bearer introspection and the
// password grant) and k8s.io/apiserver's x509 authenticator (client
// certificates). It is a module of its own, so that the peers never enter
// gatehouse's go.mod.
//
// Every benchmark serves one request in process (ServeHTTP into a
// recorder) through an authenticating middleware into the same trivial
// handler; BenchmarkBare is that handler alone, so a row's overhead is its
// time minus Bare's. cmd/benchtable runs them and writes README.md's table
// and chart.
package bench
