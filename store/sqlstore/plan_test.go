package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// hotQueries are the statements a request can run (a login, a token or
// session check, an OAuth 1 nonce, a throttle counter), written as
// sqlstore.go sends them. None may scan its table: a scan costs time in
// proportion to the rows, and a store with 10⁶ tokens then answers in
// hundreds of milliseconds (issue 18: `WHERE hash = ?` against a partial
// index did exactly that).
var hotQueries = []string{
	"SELECT login FROM users WHERE login = ?",
	"SELECT login FROM users WHERE lower(login) = lower(?) LIMIT 2",
	"UPDATE users SET password_hash = ? WHERE login = ? AND password_hash = ?",
	"SELECT id FROM tokens WHERE hash = ?",
	"SELECT id FROM tokens WHERE id = ?",
	"SELECT id FROM tokens WHERE login = ?",
	"UPDATE tokens SET revoked = ? WHERE id = ? AND revoked = 0",
	"UPDATE tokens SET last_used = ? WHERE id = ? AND last_used < ?",
	"UPDATE tokens SET revoked = ? WHERE family = ? AND revoked = 0",
	"UPDATE tokens SET revoked = ? WHERE login = ? AND revoked = 0",
	"SELECT hash FROM sessions WHERE hash = ?",
	"UPDATE sessions SET last_seen = ? WHERE hash = ? AND last_seen < ?",
	"DELETE FROM sessions WHERE hash = ?",
	"DELETE FROM sessions WHERE login = ?",
	"DELETE FROM sessions WHERE login = ? AND hash NOT IN (SELECT hash FROM sessions WHERE login = ? ORDER BY created DESC, hash DESC LIMIT ?)",
	"SELECT consumer_key FROM consumers WHERE consumer_key = ?",
	"SELECT client_id FROM clients WHERE client_id = ?",
	"SELECT count(*) FROM revoked_certs WHERE serial = ?",
	"DELETE FROM nonces WHERE expires <= ?",
	"SELECT count, reset_at FROM failures WHERE scope = ? AND fail_key = ?",
	"UPDATE failures SET count = count - 1 WHERE scope = ? AND fail_key = ? AND count > 0",
	"DELETE FROM failures WHERE scope = ? AND fail_key = ?",
	"DELETE FROM failures WHERE reset_at <= ?",
	"DELETE FROM sessions WHERE expires < ?",
}

// sqliteHotQueries are hot queries only SQLite runs: the read cache's
// change counter, asked after a commit, and moved by the triggers of a
// write to a cached table (PostgreSQL never caches and has no triggers).
var sqliteHotQueries = []string{
	"SELECT n FROM cache_changes WHERE id = 1",
	"UPDATE cache_changes SET n = n + 1 WHERE id = 1",
	"SELECT id, entries FROM nonce_log WHERE id > ? ORDER BY id",
	"SELECT coalesce((SELECT max(id) FROM nonce_log), 0), (SELECT n FROM cache_changes WHERE id = 1)",
	"DELETE FROM nonce_log WHERE expires <= ? AND id < ?",
}

// maintenanceWhere are the WHERE clauses of sqlstore.go that are not on a
// request's path (migrations, backfills, periodic cleanup an operator
// runs); a scan there is acceptable.
var maintenanceWhere = []string{
	"WHERE version = ?",  // schema_migrations
	"WHERE user_id = ''", // backfill at migration
	"WHERE login = ? AND user_id = ''",
	"WHERE users.login =",                // backfill at migration
	"WHERE expires <> 0 AND expires < ?", // DeleteExpiredTokens
	"WHERE nonces.expires <= ?",          // ON CONFLICT clause of an insert by primary key
	"WHERE expires > ?",                  // CountSessions, for a metrics scrape; the legacy nonces, once a process
	"WHERE tgname = ",                    // pg_trigger, at migration and when the cache's connection is made
	"WHERE proname = ",                   // pg_proc, at migration
}

// TestEveryWhereClauseIsClassified reads the package's Go files and fails
// when a statement with a WHERE clause is neither in hotQueries (and so
// checked for scans) nor listed as maintenance: a new query cannot skip the
// plan check by accident.
func TestEveryWhereClauseIsClassified(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	hot := strings.Join(append(hotQueries, sqliteHotQueries...), "\n")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		require.NoError(t, err)
		checkWhereClauses(t, name, f, hot)
	}
}

// checkWhereClauses fails t for every WHERE clause of f that hot does not
// hold and maintenanceWhere does not list.
func checkWhereClauses(t *testing.T, name string, f *ast.File, hot string) {
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		i := strings.Index(s, "WHERE ")
		if i < 0 {
			return true
		}
		where := strings.TrimSpace(strings.Join(strings.Fields(s[i:]), " "))
		for _, m := range maintenanceWhere {
			if strings.HasPrefix(where, m) {
				return true
			}
		}
		if !strings.Contains(hot, where) && !strings.Contains(hot, strings.TrimSuffix(where, ",")) {
			t.Errorf("%s has %q: add its query to hotQueries (checked for scans) or, if no request runs it, to maintenanceWhere", name, where)
		}
		return true
	})
}

// fill puts n rows in the hot tables, so that the planners see tables worth
// an index (an empty table may be scanned legitimately).
func fill(t *testing.T, db *sql.DB, rebind func(string) string, n int) {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	for _, x := range []struct {
		q    string
		args func(i int) []any
	}{
		{"INSERT INTO users (login, user_id, user_name, user_domain, password_hash, group_list, disabled, updated, password_changed) VALUES (?, ?, ?, '', '', '[]', 0, 0, 0)",
			func(i int) []any {
				return []any{fmt.Sprintf("user%07d", i), fmt.Sprintf("id%07d", i), fmt.Sprintf("user%07d", i)}
			}},
		{"INSERT INTO tokens (id, hash, kind, login, user_id, client_id, family, password_stamp, token_name, scopes, created, expires, last_used, revoked) VALUES (?, ?, 'access', ?, '', '', ?, 0, '', '[]', 0, ?, 0, 0)",
			func(i int) []any {
				return []any{fmt.Sprintf("tok%07d", i), fmt.Sprintf("hash%07d", i), fmt.Sprintf("user%07d", i%(n/10+1)), fmt.Sprintf("fam%07d", i/2), int64(i)}
			}},
		{"INSERT INTO sessions (hash, login, user_id, credential, scheme, scopes, user_updated, created, last_seen, idle_ns, expires, csrf) VALUES (?, ?, '', '', 'basic', '[]', 0, 0, 0, 0, ?, 0)",
			func(i int) []any { return []any{fmt.Sprintf("sess%07d", i), fmt.Sprintf("user%07d", i), int64(i)} }},
		{"INSERT INTO consumers (consumer_key, secret, rsa_pem, methods, disabled, user_list, mapping) VALUES (?, 'secret-secret-secret', '', '[]', 0, '[]', '')",
			func(i int) []any { return []any{fmt.Sprintf("consumer%07d", i)} }},
		{"INSERT INTO clients (client_id, secret_hash, disabled, scopes, grants) VALUES (?, '', 0, '[]', '[]')",
			func(i int) []any { return []any{fmt.Sprintf("client%07d", i)} }},
		{"INSERT INTO revoked_certs (serial, revoked) VALUES (?, 0)",
			func(i int) []any { return []any{fmt.Sprintf("%032x", i)} }},
		{"INSERT INTO nonces (consumer_key, nonce, expires) VALUES (?, ?, ?)",
			func(i int) []any { return []any{"katello", fmt.Sprintf("nonce%07d", i), int64(i)} }},
		{"INSERT INTO failures (scope, fail_key, count, reset_at) VALUES (?, ?, 1, ?)",
			func(i int) []any { return []any{"user", fmt.Sprintf("key%07d", i), int64(i)} }},
	} {
		st, err := tx.PrepareContext(ctx, rebind(x.q))
		require.NoError(t, err, x.q)
		for i := 0; i < n; i++ {
			_, err := st.ExecContext(ctx, x.args(i)...)
			require.NoError(t, err, x.q)
		}
		st.Close()
	}
	require.NoError(t, tx.Commit())
}

func pgRebind(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestHotQueriesUseIndexes runs EXPLAIN QUERY PLAN (SQLite) and EXPLAIN of
// the generic plan (PostgreSQL, plan_cache_mode = force_generic_plan, as a
// prepared statement is planned) for every hot query over 5 000 rows, and
// fails on a table scan.
func TestHotQueriesUseIndexes(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		s := openSQLite(t)
		fill(t, s.DB(), func(q string) string { return q }, 5000)
		_, err := s.DB().ExecContext(ctx, "ANALYZE")
		require.NoError(t, err)
		explain := func(q string) string {
			args := make([]any, strings.Count(q, "?"))
			rows, err := s.DB().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
			require.NoError(t, err, q)
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				require.NoError(t, rows.Scan(&id, &parent, &notused, &detail))
				plan = append(plan, detail)
			}
			return strings.Join(plan, "; ")
		}
		for _, q := range append(hotQueries, sqliteHotQueries...) {
			// A SELECT of scalar subqueries "scans" its one constant row.
			if text := explain(q); strings.Contains(strings.ReplaceAll(text, "SCAN CONSTANT ROW", ""), "SCAN ") {
				t.Errorf("SQLite scans for %q: %s", q, text)
			}
		}
		// The check sees the original bug: with only the partial unique
		// index of schema v1, the token lookup is a scan.
		_, err = s.DB().ExecContext(ctx, "DROP INDEX tokens_hash_lookup")
		require.NoError(t, err)
		if text := explain("SELECT id FROM tokens WHERE hash = ?"); !strings.Contains(text, "SCAN tokens") {
			t.Errorf("without the full index the plan should scan, got %s", text)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		s := openPostgres(t)
		fill(t, s.DB(), pgRebind, 5000)
		conn, err := s.DB().Conn(ctx)
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.ExecContext(ctx, "ANALYZE")
		require.NoError(t, err)
		_, err = conn.ExecContext(ctx, "SET plan_cache_mode = force_generic_plan")
		require.NoError(t, err)
		for i, q := range hotQueries {
			name := fmt.Sprintf("hot%d", i)
			_, err := conn.ExecContext(ctx, "PREPARE "+name+" AS "+pgRebind(q))
			require.NoError(t, err, q)
			params := make([]string, strings.Count(q, "?"))
			for j := range params {
				params[j] = "NULL"
			}
			exec := "EXECUTE " + name
			if len(params) > 0 {
				exec += "(" + strings.Join(params, ", ") + ")"
			}
			rows, err := conn.QueryContext(ctx, "EXPLAIN "+exec)
			require.NoError(t, err, q)
			var plan []string
			for rows.Next() {
				var line string
				require.NoError(t, rows.Scan(&line))
				plan = append(plan, strings.TrimSpace(line))
			}
			rows.Close()
			text := strings.Join(plan, "; ")
			if strings.Contains(text, "Seq Scan") {
				t.Errorf("PostgreSQL scans for %q: %s", q, text)
			}
		}
	})
}
