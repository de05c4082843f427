package veritoken

import (
	"os"
	"regexp"
	"testing"
)

// The linked library's version is the workspace version in Cargo.toml (one version for
// every package of a release).
func TestVersionIsTheCargoVersion(t *testing.T) {
	text, err := os.ReadFile("../../Cargo.toml")
	if err != nil {
		t.Skip("not in a checkout:", err)
	}
	m := regexp.MustCompile(`(?m)^version = "([^"]+)"`).FindSubmatch(text)
	if m == nil {
		t.Fatal("no version in Cargo.toml")
	}
	if got := Version(); got != string(m[1]) {
		t.Fatalf("Version() = %q, Cargo.toml has %q", got, m[1])
	}
}
