package login

import (
	"strings"
	"testing"
)

func TestEmailCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		c := newEmailCode()
		if len(c) != emailCodeDigits || normalizeCode(c) != c {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 1990 { // 2000 draws from 10⁸ collide rarely
		t.Fatalf("only %d distinct codes in 2000", len(seen))
	}
	for in, want := range map[string]string{
		"1234 5678": "12345678", "1234-5678": "12345678", " 12345678\u00a0": "12345678",
		"1234567": "", "123456789": "", "1234567a": "", "１２３４５６７８": "", "": "",
	} {
		if got := normalizeCode(in); got != want {
			t.Errorf("normalizeCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidEmailToken(t *testing.T) {
	for tok, want := range map[string]bool{
		strings.Repeat("a", 43): true, strings.Repeat("-_", 21) + "Z": true,
		strings.Repeat("a", 42): false, strings.Repeat("a", 44): false, strings.Repeat("a", 42) + "=": false,
		strings.Repeat("a", 42) + "/": false, "": false,
	} {
		if validEmailToken(tok) != want {
			t.Errorf("validEmailToken(%q) = %v", tok, !want)
		}
	}
}
