package apikey

import "testing"

func TestNewKeyID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id, err := NewKeyID()
		if err != nil {
			t.Fatal(err)
		}
		if !ValidKeyID(id) {
			t.Fatalf("NewKeyID() = %q, not a valid key id", id)
		}
		if seen[id] {
			t.Fatalf("NewKeyID() repeated %q", id)
		}
		seen[id] = true
	}
}

// TestNewKeyIDUsesWholeAlphabet guards the rejection sampling: every
// character of the alphabet occurs, and none is grossly over- or
// under-represented (the bounds are more than 7 standard deviations wide).
func TestNewKeyIDUsesWholeAlphabet(t *testing.T) {
	counts := map[rune]int{}
	const ids = 2000
	for range ids {
		id, err := NewKeyID()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range id {
			counts[c]++
		}
	}
	want := ids * KeyIDLength / len(keyIDAlphabet) // about 889
	for _, c := range keyIDAlphabet {
		if n := counts[c]; n < want*3/4 || n > want*5/4 {
			t.Errorf("character %q drawn %d times, want about %d", c, n, want)
		}
	}
}

func TestValidKeyID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"ABCDEFGHIJ012345", true},
		{"0000000000000000", true},
		{"ZZZZZZZZZZZZZZZZ", true},
		{"", false},
		{"ABCDEFGHIJ01234", false},   // 15 characters
		{"ABCDEFGHIJ0123456", false}, // 17 characters
		{"abcdefghij012345", false},  // lower case
		{"ABCDEFGHIJ01234-", false},
		{"ABCDEFGHIJ0123Ä", false}, // 16 bytes, not all letters or digits
		{"sa-abc123", false},
	} {
		if got := ValidKeyID(tc.id); got != tc.want {
			t.Errorf("ValidKeyID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}
