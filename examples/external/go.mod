module example.com/external

go 1.26.8

require github.com/gatehouse/gatehouse v0.0.0

require (
	github.com/dghubble/oauth1 v0.7.3 // indirect
	github.com/go-chi/chi/v5 v5.2.3 // indirect
	github.com/go-crypt/crypt v0.14.15 // indirect
	github.com/go-crypt/x v0.4.16 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

replace github.com/gatehouse/gatehouse => ../..
