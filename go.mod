module github.com/gatehouse/gatehouse

go 1.26.8

require (
	github.com/go-crypt/crypt v0.14.15
	github.com/stretchr/testify v1.12.1
	golang.org/x/crypto v0.58.0
)

require (
	github.com/dghubble/oauth1 v0.7.3 // indirect
	github.com/go-crypt/x v0.4.16 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
