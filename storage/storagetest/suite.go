package storagetest

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite" // database/sql driver "sqlite" for raw checks

	"github.com/madfam-org/janua/storage"
)

// testTime is where every suite clock starts: a non-round instant, so
// precision loss shows.
var testTime = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

// testSecret is the key-encryption secret every suite store uses.
var testSecret = []byte("storagetest key-encryption secret, 32+ bytes long")

// harness is one fresh, migrated database and a store over it.
type harness struct {
	t     *testing.T
	url   string
	clock *Clock
	store *storage.Store
	ctx   context.Context
}

func newHarness(t *testing.T, b Backend) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		url:   b.NewDatabaseURL(t),
		clock: NewClockAt(testTime),
		ctx:   context.Background(),
	}
	h.store = h.open(testSecret)
	if _, err := h.store.Migrate(h.ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return h
}

// open returns another handle on the harness's database.
func (h *harness) open(secret []byte) *storage.Store {
	h.t.Helper()
	s, err := storage.Open(h.ctx, storage.Options{URL: h.url, Secret: secret, Now: h.clock.Now})
	if err != nil {
		h.t.Fatalf("open %s: %v", h.url, err)
	}
	h.t.Cleanup(func() { _ = s.Close() })
	return s
}

// raw opens the database with database/sql, bypassing the store, for checks
// of what is really on disk.
func (h *harness) raw() *sql.DB {
	h.t.Helper()
	u, err := storage.ParseDatabaseURL(h.url)
	if err != nil {
		h.t.Fatal(err)
	}
	driver := "pgx"
	if u.Dialect == storage.SQLite {
		driver = "sqlite"
	}
	db, err := sql.Open(driver, u.DSN)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = db.Close() })
	return db
}

// rebind turns ? into $n for PostgreSQL raw queries.
func (h *harness) rebind(q string) string { return h.store.Dialect().Rebind(q) }

// Run runs every store subtest against fresh databases from b.
func Run(t *testing.T, b Backend) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"Migrate", testMigrate},
		{"Users", testUsers},
		{"Passwords", testPasswords},
		{"Clients", testClients},
		{"SigningKeys", testSigningKeys},
		{"BrowserSessions", testBrowserSessions},
		{"AuditEvents", testAuditEvents},
		{"TimeZones", testTimeZones},
		{"Transactions", testTransactions},
		{"GarbageCollection", testGarbageCollection},
		{"Flows", testFlows},
		{"ConsentGrants", testConsentGrants},
		{"OAuth2AuthorizeCodes", testOAuth2AuthorizeCodes},
		{"OAuth2AccessTokens", testOAuth2AccessTokens},
		{"OAuth2RefreshTokens", testOAuth2RefreshTokens},
		{"OAuth2Revocation", testOAuth2Revocation},
		{"OAuth2Rows", testOAuth2Rows},
		{"OAuth2GroupCommit", testOAuth2GroupCommit},
		{"OAuth2ClientResolver", testOAuth2ClientResolver},
		{"OAuth2AccessTokenCache", testOAuth2AccessTokenCache},
		{"OAuth2Batching", testOAuth2Batching},
		{"CodeHandoff", testCodeHandoff},
		{"EmailTokens", testEmailTokens},
		{"KnownBrowsers", testKnownBrowsers},
		{"RevokeUserOAuth2Tokens", testRevokeUserOAuth2Tokens},
		{"RevokedTokenIDs", testRevokedTokenIDs},
		{"TOTP", testTOTP},
		{"BackupCodes", testBackupCodes},
		{"MailOutbox", testMailOutbox},
		{"Passkeys", testPasskeys},
		{"FactorEnrolment", testFactorEnrolment},
		{"Seed", testSeed},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
	}
}
