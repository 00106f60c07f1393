package login

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// rfc6238Secret is RFC 6238 Appendix B's SHA-1 key.
var rfc6238Secret = []byte("12345678901234567890")

// RFC 6238 Appendix B's SHA-1 vectors, six digits (the last six of the
// eight-digit values: the same truncation, modulo 10^6).
func TestTOTPMatchRFC6238(t *testing.T) {
	for _, tc := range []struct {
		unix int64
		code string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"},
		{1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
	} {
		step, v := totpMatch(rfc6238Secret, tc.code, time.Unix(tc.unix, 0), 0)
		if v != totpFresh || step != tc.unix/30 {
			t.Errorf("T=%d %s: step %d verdict %d", tc.unix, tc.code, step, v)
		}
	}
}

// One step either side is accepted (clock drift), two are not; a step
// already used is a replay; of two fresh matches the earliest is taken;
// what people type is normalised and anything else refused.
func TestTOTPMatchWindowAndReplay(t *testing.T) {
	const code, at = "081804", int64(1111111109) // step 37037036
	step := at / 30
	for _, tc := range []struct {
		name     string
		now      int64
		lastUsed int64
		code     string
		want     totpVerdict
	}{
		{"now", at, 0, code, totpFresh},
		{"a step late", at + 30, 0, code, totpFresh},
		{"a step early", at - 30, 0, code, totpFresh},
		{"two steps late", at + 60, 0, code, totpWrong},
		{"two steps early", at - 60, 0, code, totpWrong},
		{"its step used", at, step, code, totpReplayed},
		{"a later step used", at, step + 1, code, totpReplayed},
		{"an earlier step used", at, step - 1, code, totpFresh},
		{"spaces", at, 0, "081 804", totpFresh},
		{"dash", at, 0, "081-804", totpFresh},
		{"wrong", at, 0, "081805", totpWrong},
		{"letters", at, 0, "08180a", totpWrong},
		{"seven digits", at, 0, "0818041", totpWrong},
		{"empty", at, 0, "", totpWrong},
		{"huge", at, 0, strings.Repeat("0", 1000), totpWrong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, v := totpMatch(rfc6238Secret, tc.code, time.Unix(tc.now, 0), tc.lastUsed)
			if v != tc.want || (v == totpFresh && got != step) {
				t.Fatalf("step %d verdict %d, want step %d verdict %d", got, v, step, tc.want)
			}
		})
	}
}

// Ten distinct codes of ten symbols of Crockford's base32 (50 bits each),
// read back however they are typed.
func TestBackupCodes(t *testing.T) {
	codes, err := newBackupCodes()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != backupCodeLength || strings.Trim(c, backupAlphabet) != "" || seen[c] {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
		shown := formatBackupCode(c)
		for _, typed := range []string{shown, strings.ToUpper(shown), " " + c + " ", strings.ReplaceAll(shown, "-", " ")} {
			if got := normalizeBackupCode(typed); got != c {
				t.Fatalf("%q read as %q, want %q", typed, got, c)
			}
		}
	}
	if len(codes) != 10 || len(backupAlphabet) != 32 {
		t.Fatalf("%d codes over %d symbols", len(codes), len(backupAlphabet))
	}
	for typed, want := range map[string]string{
		"OIL01-23456":  "01101-23456"[:5] + "23456", // Crockford: o is 0, i and l are 1
		"abcde-fghju":  "",                          // u is not a symbol
		"abcde-fghj":   "",                          // too short
		"abcde-fghjkm": "",
		"abcde_fghjk":  "",
		"":             "",
	} {
		if got := normalizeBackupCode(typed); got != strings.ReplaceAll(want, "-", "") {
			t.Errorf("%q read as %q, want %q", typed, got, want)
		}
	}
	// 1,000 codes: every symbol appears (a broken generator would not).
	all := ""
	for range 100 {
		more, _ := newBackupCodes()
		all += strings.Join(more, "")
	}
	for _, r := range backupAlphabet {
		if !strings.ContainsRune(all, r) {
			t.Fatalf("symbol %q never generated", r)
		}
	}
	if slices.Contains(codes, "") {
		t.Fatal("empty code")
	}
}

// The CPU of checking one TOTP code: three HMAC-SHA1 (the window).
func BenchmarkTOTPMatch(b *testing.B) {
	now := time.Unix(1111111109, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, v := totpMatch(rfc6238Secret, "081804", now, 0); v != totpFresh {
			b.Fatal(v)
		}
	}
}
