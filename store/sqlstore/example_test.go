package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/auth/stores"
	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/gatehouse/gatehouse/token"
)

// Example keeps users and tokens in an embedded SQLite file; with
// sqlstore.OpenPostgres the code is the same.
func Example() {
	dir, _ := os.MkdirTemp("", "gatehouse-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	_ = db.PutUser(ctx, stores.User{Name: "admin", Groups: []string{"admin"}})
	tokens := token.New(token.Config{Store: db, Users: db})
	pat, _ := tokens.CreatePAT(ctx, token.PATSpec{Login: "admin", Name: "ci"})
	id, err := tokens.Verify(ctx, pat.Secret, token.PrefixPAT, auth.SchemePAT)
	fmt.Println(id.User, id.Groups, err)
	// Output: admin [admin] <nil>
}
