package storage_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// The rotation runs prepared (pgx caches its statements), so PostgreSQL may
// plan it once for any parameters. That generic plan must still find the
// refresh token by its primary key: with "request_id = $n" in the UPDATE's
// condition it took the request_id index and read every refresh token the
// family ever had, hundreds per rotation for a busy one.
func TestRotationGenericPlanUsesThePrimaryKey(t *testing.T) {
	dsn := storagetest.PostgresDSN(t) // without PostgreSQL: a skip, a failure under CI=true
	ctx := context.Background()
	url := storagetest.PostgresBackend(dsn).NewDatabaseURL(t)
	s, err := storage.Open(ctx, storage.Options{URL: url, Secret: []byte("plan test secret, long enough for a key")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := storage.ParseDatabaseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", u.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q, vars := storage.RotateStatement("key", "request", time.Now())
	if len(vars) != 3 {
		t.Fatalf("%d parameters, want 3", len(vars))
	}
	for _, stmt := range []string{
		`SET plan_cache_mode = force_generic_plan`,
		`PREPARE rotation (text, timestamptz, text) AS ` + q,
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	var raw string
	if err := conn.QueryRowContext(ctx, `EXPLAIN (FORMAT JSON) EXECUTE rotation ('key', now(), 'request')`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(raw), &plans); err != nil || len(plans) != 1 {
		t.Fatalf("EXPLAIN: %v %s", err, raw)
	}
	var update *planNode
	plans[0].Plan.walk(func(n *planNode) {
		if n.NodeType == "ModifyTable" && n.Operation == "Update" {
			update = n
		}
	})
	if update == nil {
		t.Fatalf("no UPDATE in the plan: %s", raw)
	}
	var indexes []string
	update.walk(func(n *planNode) {
		if n.IndexName != "" {
			indexes = append(indexes, n.IndexName)
		}
	})
	if len(indexes) == 0 || slices.ContainsFunc(indexes, func(i string) bool { return i != "oauth2_sessions_pkey" }) {
		t.Fatalf("the rotation's generic plan reads the refresh token through %v, want oauth2_sessions_pkey alone:\n%s", indexes, raw)
	}
}

// planNode is a node of EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType  string     `json:"Node Type"`
	Operation string     `json:"Operation"`
	IndexName string     `json:"Index Name"`
	Plans     []planNode `json:"Plans"`
}

func (n *planNode) walk(fn func(*planNode)) {
	fn(n)
	for i := range n.Plans {
		n.Plans[i].walk(fn)
	}
}
