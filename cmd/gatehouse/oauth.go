package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse/gatehouse/auth/password"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/oauth1"
	"github.com/gatehouse/gatehouse/store/sqlstore"
)

func init() {
	verbs = append(verbs,
		verb{name: "oauth1 consumer add", args: "KEY [--map-users|--strict|--as-admin] [--user U]… [--method M]… [--rsa-key FILE]  (secret on stdin)", help: "add or replace an OAuth 1.0a consumer", run: cmdConsumerAdd},
		verb{name: "oauth1 consumer list", args: "", help: "list OAuth 1.0a consumers (never their secrets)", readOnly: true, run: cmdConsumerList},
		verb{name: "oauth1 sign", args: "METHOD URL --consumer KEY [--user U]  (secret on stdin)", help: "print a signed OAuth 1.0a Authorization header (for curl -H)", run: cmdOAuth1Sign},
		verb{name: "oauth2 client add", args: "ID [--secret-stdin] [--scope S]… [--grant G]…", help: "add or replace an OAuth 2 client", run: cmdClientAdd},
	)
}

func cmdConsumerAdd(e *env, args []string) error {
	var (
		users, methods            stringList
		rsaKey                    string
		mapUsers, strict, asAdmin bool
	)
	pos, err := parse(e, "oauth1 consumer add", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&mapUsers, "map-users", false, "act as the user named in FOREMAN-USER (Foreman's oauth_map_users; the Satellite face's default)")
		fs.BoolVar(&strict, "strict", false, "act as the user in the signed xoauth_requestor_id parameter only: the unsigned header alone is refused")
		fs.BoolVar(&asAdmin, "as-admin", false, "act as the built-in API administrator whatever the header says (Foreman's oauth_map_users = false)")
		fs.Var(&users, "user", "a user the consumer may act as (repeatable; none = any user)")
		fs.Var(&methods, "method", "a signature method it may use: HMAC-SHA1, HMAC-SHA256, PLAINTEXT, RSA-SHA1 (repeatable; none = what its key allows)")
		fs.StringVar(&rsaKey, "rsa-key", "", "a PEM file with the consumer's RSA public key (RSA-SHA1; then no secret is read)")
	}, 1, 1)
	if err != nil {
		return err
	}
	c := stores.Consumer{Key: pos[0], Users: users, Methods: methods}
	switch {
	case btoi(mapUsers)+btoi(strict)+btoi(asAdmin) > 1:
		return usageError("give one of --map-users, --strict, --as-admin")
	case mapUsers:
		c.Mapping = stores.ConsumerMapHeader
	case strict:
		c.Mapping = stores.ConsumerMapSigned
	case asAdmin:
		c.Mapping = stores.ConsumerMapNone
		fmt.Fprintf(e.stderr, "warning: requests signed by %s act as the API administrator, whoever they name\n", c.Key)
	}
	if rsaKey != "" {
		pem, err := os.ReadFile(rsaKey)
		if err != nil {
			return err
		}
		c.RSAPublicKeyPEM = string(pem)
	} else if c.Secret, err = e.readSecret("consumer secret"); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return e.withStore(func(ctx context.Context, s sqlstore.Store) error {
		if err := s.PutConsumer(ctx, c); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "consumer %s stored\n", c.Key)
		return nil
	})
}

func cmdConsumerList(e *env, args []string) error {
	if _, err := parse(e, "oauth1 consumer list", args, nil, 0, 0); err != nil {
		return err
	}
	return e.withStore(func(ctx context.Context, s sqlstore.Store) error {
		cs, err := s.ListConsumers(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "KEY\tMAPPING\tMETHODS\tUSERS\tSTATE")
		for _, c := range cs {
			state := "enabled"
			if c.Disabled {
				state = "disabled"
			}
			mapping := c.Mapping
			if mapping == "" {
				mapping = "default"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", c.Key, mapping, orDash(strings.Join(c.Methods, ",")), orDash(strings.Join(c.Users, ",")), state)
		}
		return w.Flush()
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// captured is a transport that records the signed request instead of
// sending it.
type captured struct{ req *http.Request }

func (c *captured) RoundTrip(r *http.Request) (*http.Response, error) {
	c.req = r
	return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r, Header: http.Header{}}, nil
}

func cmdOAuth1Sign(e *env, args []string) error {
	var (
		consumer, user string
		signed         bool
	)
	pos, err := parse(e, "oauth1 sign", args, func(fs *flag.FlagSet) {
		fs.StringVar(&consumer, "consumer", "", "the consumer key (required)")
		fs.StringVar(&user, "user", "", "the user to act as: with --signed it is signed as xoauth_requestor_id (add it to the URL's query too); else send it yourself as FOREMAN-USER")
		fs.BoolVar(&signed, "signed", false, "sign the user (for --strict consumers)")
	}, 2, 2)
	if err != nil {
		return err
	}
	if consumer == "" {
		return usageError("--consumer is required")
	}
	u, err := url.Parse(pos[1])
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return usageError("%q is not an http(s) URL", pos[1])
	}
	secret, err := e.readSecret("consumer secret")
	if err != nil {
		return err
	}
	t := &captured{}
	client := oauth1.NewSigningClient(context.Background(), oauth1.SigningClientConfig{
		ConsumerKey: consumer, ConsumerSecret: secret, User: user, Signed: signed, Base: t})
	req, err := http.NewRequest(strings.ToUpper(pos[0]), u.String(), nil)
	if err != nil {
		return usageError("%v", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if t.req == nil || t.req.Header.Get("Authorization") == "" {
		return fmt.Errorf("the request was not signed")
	}
	fmt.Fprintf(e.stdout, "Authorization: %s\n", t.req.Header.Get("Authorization"))
	if signed && user != "" {
		fmt.Fprintf(e.stderr, "signed URL: %s\n", t.req.URL)
	}
	return nil
}

func cmdClientAdd(e *env, args []string) error {
	var (
		secretStdin    bool
		scopes, grants stringList
	)
	pos, err := parse(e, "oauth2 client add", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&secretStdin, "secret-stdin", false, "read the client secret from standard input (else a public client)")
		fs.Var(&scopes, "scope", "a scope the client may ask for (repeatable; none = any)")
		fs.Var(&grants, "grant", "a grant type it may use: password, refresh_token (repeatable; none = any)")
	}, 1, 1)
	if err != nil {
		return err
	}
	c := stores.Client{ID: pos[0], Scopes: scopes, Grants: grants}
	if secretStdin {
		secret, err := e.readSecret("client secret")
		if err != nil {
			return err
		}
		if c.SecretHash, err = password.Hash(secret); err != nil {
			return err
		}
	}
	return e.withStore(func(ctx context.Context, s sqlstore.Store) error {
		if err := s.PutClient(ctx, c); err != nil {
			return err
		}
		kind := "public"
		if c.SecretHash != "" {
			kind = "confidential"
		}
		fmt.Fprintf(e.stdout, "%s client %s stored\n", kind, c.ID)
		return nil
	})
}
