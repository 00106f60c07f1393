package main

import (
	"os"
	"strings"
	"testing"
)

// The README's configuration table documents every setting.
func TestREADMEDocumentsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var c Config
	for _, s := range settings(&c) {
		for _, want := range []string{"`" + s.key + "`", "`" + s.env} {
			if !strings.Contains(readme, want) {
				t.Errorf("README does not document %s", want)
			}
		}
		if s.flag != "" && !strings.Contains(readme, "`--"+s.flag+"`") {
			t.Errorf("README does not document --%s", s.flag)
		}
	}
	for _, cmd := range []string{"make run", "make test"} {
		if !strings.Contains(readme, cmd) {
			t.Errorf("README lacks %q", cmd)
		}
	}
}
