package store

import (
	"strings"
	"testing"
)

// foldKey files the strings strings.EqualFold finds equal under one key.
func TestFoldKey(t *testing.T) {
	for _, group := range [][]string{
		{"alice@example.com", "Alice@Example.COM", "ALICE@EXAMPLE.COM"},
		{"k", "K", "\u212a"},           // KELVIN SIGN
		{"s", "S", "\u017f"},           // LATIN SMALL LETTER LONG S
		{"ǆ", "ǅ", "Ǆ"},                // a title-case digraph
		{"straße", "STRAßE", "straẞe"}, // ß and ẞ fold together
	} {
		for _, s := range group[1:] {
			if !strings.EqualFold(group[0], s) {
				t.Fatalf("test data: %q and %q are not EqualFold", group[0], s)
			}
			if foldKey(s) != foldKey(group[0]) {
				t.Errorf("foldKey(%q) = %q, foldKey(%q) = %q", s, foldKey(s), group[0], foldKey(group[0]))
			}
		}
	}
	if foldKey("alice") == foldKey("alicf") {
		t.Errorf("different strings share a key")
	}
}
