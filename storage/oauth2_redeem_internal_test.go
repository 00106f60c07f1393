package storage

import "testing"

// The one-statement redemption casts every column it inserts: a column
// added to oauth2_sessions without a type here would send redemptions back
// to the four-statement transaction.
func TestRedeemStatementCoversColumns(t *testing.T) {
	for _, c := range oauth2Columns {
		if pgColumnTypes[c] == "" {
			t.Errorf("column %q has no type in pgColumnTypes", c)
		}
	}
	q, vars, ok := redeemStatement("k", []oauth2Session{{Kind: "access", Signature: "s"}, {Kind: "refresh", Signature: "r"}})
	if !ok {
		t.Fatal("no statement for two rows")
	}
	if want := 1 + 2*len(oauth2Columns); len(vars) != want {
		t.Errorf("%d values, want %d", len(vars), want)
	}
	if t.Failed() {
		t.Log(q)
	}
}
