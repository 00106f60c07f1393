package storagetest

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/madfam-org/janua/storage"
)

func testMigrate(t *testing.T, b Backend) {
	t.Run("AppliesEveryMigrationOnce", func(t *testing.T) {
		h := newHarness(t, b)
		migs, err := storage.Migrations(h.store.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		v, err := h.store.SchemaVersion(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := migs[len(migs)-1].Version; v != want {
			t.Fatalf("schema version %d, want %d", v, want)
		}
		res, err := h.store.Migrate(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Applied) != 0 || res.Current != v || res.Newer {
			t.Fatalf("second migrate: %+v, want nothing applied at version %d", res, v)
		}
	})

	t.Run("ConcurrentInstancesMigrateOnce", func(t *testing.T) {
		h := &harness{t: t, url: b.NewDatabaseURL(t), clock: NewClockAt(testTime), ctx: t.Context()}
		const instances = 4
		stores := make([]*storage.Store, instances)
		for i := range stores {
			stores[i] = h.open(testSecret)
		}
		results := make([]storage.MigrationResult, instances)
		errs := make([]error, instances)
		var wg sync.WaitGroup
		for i := range stores {
			wg.Go(func() { results[i], errs[i] = stores[i].Migrate(h.ctx) })
		}
		wg.Wait()
		migs, _ := storage.Migrations(stores[0].Dialect())
		applied := 0
		for i := range stores {
			if errs[i] != nil {
				t.Fatalf("instance %d: %v", i, errs[i])
			}
			applied += len(results[i].Applied)
		}
		if applied != len(migs) {
			t.Fatalf("%d migrations applied across %d instances, want %d (each exactly once)", applied, instances, len(migs))
		}
		var rows int
		if err := h.raw().QueryRowContext(h.ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != len(migs) {
			t.Fatalf("schema_migrations has %d rows, want %d", rows, len(migs))
		}
	})

	t.Run("EditedMigrationRefused", func(t *testing.T) {
		h := newHarness(t, b)
		if _, err := h.raw().ExecContext(h.ctx, h.rebind("UPDATE schema_migrations SET checksum = ? WHERE version = 1"), "0000feed"); err != nil {
			t.Fatal(err)
		}
		_, err := h.store.Migrate(h.ctx)
		if err == nil || !strings.Contains(err.Error(), "changed after it was applied") {
			t.Fatalf("migrate over an edited migration: %v, want a refusal", err)
		}
	})

	t.Run("NewerSchemaTolerated", func(t *testing.T) {
		h := newHarness(t, b)
		if _, err := h.raw().ExecContext(h.ctx, h.rebind("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)"),
			9999, "from_the_future", "abc", testTime); err != nil {
			t.Fatal(err)
		}
		res, err := h.store.Migrate(h.ctx)
		if err != nil {
			t.Fatalf("migrate against a newer schema: %v (expand/contract: an older binary keeps working)", err)
		}
		if !res.Newer || res.Current != 9999 {
			t.Fatalf("result %+v, want Newer at 9999", res)
		}
	})

	t.Run("BothDialectsInStep", func(t *testing.T) {
		pg, err := storage.Migrations(storage.Postgres)
		if err != nil {
			t.Fatal(err)
		}
		lite, err := storage.Migrations(storage.SQLite)
		if err != nil {
			t.Fatal(err)
		}
		if len(pg) != len(lite) {
			t.Fatalf("%d PostgreSQL migrations, %d SQLite", len(pg), len(lite))
		}
		for i := range pg {
			if pg[i].Version != lite[i].Version || pg[i].Name != lite[i].Name {
				t.Fatalf("migration %d: %04d_%s vs %04d_%s", i, pg[i].Version, pg[i].Name, lite[i].Version, lite[i].Name)
			}
		}
	})
}

// is reports whether err wraps target, for table-driven checks.
func is(err, target error) bool { return errors.Is(err, target) }
