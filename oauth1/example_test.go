package oauth1_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/authtest"
	"github.com/gatehouse/gatehouse/oauth1"
)

// Example verifies Satellite-style 1-legged OAuth: the consumer key and
// secret sign the request, FOREMAN-USER names the user.
func Example() {
	store := authtest.Users(authtest.User{Login: "admin"})
	_ = store.PutConsumer(context.Background(), stores.Consumer{Key: "katello", Secret: "s3cr3t-consumer-secret"})
	verifier := oauth1.New(oauth1.Config{Consumers: store, Nonces: store, Users: store})

	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.IdentityFrom(r.Context())
		fmt.Fprintf(w, "%s as %s", id.Attrs["consumer_key"], id.User)
	})
	srv := httptest.NewTLSServer(auth.Middleware(verifier, auth.Config{})(api))
	defer srv.Close()

	client := oauth1.NewSigningClient(context.Background(), oauth1.SigningClientConfig{
		ConsumerKey: "katello", ConsumerSecret: "s3cr3t-consumer-secret", User: "admin", Base: srv.Client().Transport,
	})
	resp, err := client.Get(srv.URL + "/api/v2/hosts?per_page=5")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 katello as admin
}
