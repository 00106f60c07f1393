package conformance

import (
	"fmt"
	"math"
)

// RFC 6749 §10.10 and RFC 6819 §5.1.4.2.2: codes and tokens must be unguessable. The
// suite estimates it the same way for codes, access tokens and refresh tokens
// (EnsureMinimumAuthorizationCodeLength, AbstractEnsureMinimumEntropy): at least 128
// bits of length and a Shannon-entropy estimate (bits per character times length)
// above 96 bits.
const (
	minTokenBits    = 128
	minEntropyBits  = 96.0
	entropyExplains = "item is too short, or not random enough"
)

// shannon is the Shannon entropy of s in bits per character.
func shannon(s string) float64 {
	if s == "" {
		return 0
	}
	occ := map[rune]int{}
	n := 0
	for _, r := range s {
		occ[r]++
		n++
	}
	var e float64
	for _, c := range occ {
		p := float64(c) / float64(n)
		e -= p * math.Log2(p)
	}
	return e
}

// checkLength is EnsureMinimum*Length.
func checkLength(what, s string) error {
	if s == "" {
		return fmt.Errorf("can't find %s", what)
	}
	if bits := len(s) * 8; bits < minTokenBits {
		return fmt.Errorf("%s is %d bits long, less than the required %d", what, bits, minTokenBits)
	}
	return nil
}

// checkEntropy is EnsureMinimum*Entropy.
func checkEntropy(what, s string) error {
	e := shannon(s) * float64(len([]rune(s)))
	if e > minEntropyBits {
		return nil
	}
	return fmt.Errorf("calculated shannon entropy of %s is %.1f bits, not above the required %.0f (%s)", what, e, minEntropyBits, entropyExplains)
}
