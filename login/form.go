package login

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// clean makes user input safe to store and show: valid UTF-8, no control
// characters (PostgreSQL refuses NUL in text), trimmed, at most max bytes
// (cut on a character boundary).
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	for len(s) > max {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// first returns the first value of a flow request parameter.
func first(req map[string][]string, key string) string {
	if v := req[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
