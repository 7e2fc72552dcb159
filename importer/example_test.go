package importer_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/auth/pwcheck"
	"github.com/gatehouse/gatehouse/importer"
	"github.com/gatehouse/gatehouse/store/memstore"
)

// Example imports an htpasswd file into a store, and the imported password
// works at once; the line that is not login:hash is reported, not fatal.
func Example() {
	ctx := context.Background()
	store := memstore.New()
	file := "shauser:{SHA}EZOb/3ZEWVxuVqUsfAE789IreWE=\ngarbage line\n"
	rep, err := importer.Htpasswd(ctx, strings.NewReader(file), store)
	fmt.Println(rep.Added, rep.Skipped, err)

	_, err = (&pwcheck.StoreVerifier{Users: store}).VerifyPassword(ctx, "shauser", "cluster-secret")
	fmt.Println(err)
	// Output:
	// 1 [line 2: not login:hash] <nil>
	// <nil>
}
