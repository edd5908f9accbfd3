package store

import (
	"regexp"
	"testing"
)

func TestNewAccountID(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		want   *regexp.Regexp // nil: an error
	}{
		{ServiceAccountPrefix, regexp.MustCompile(`^sa-[a-z0-9]{6}$`)},
		{UserAccountPrefix, regexp.MustCompile(`^u-[a-z0-9]{6}$`)},
		{"", nil},
		{"SA", nil},
		{"sa-", nil},
		{"pool", nil},
	} {
		seen := map[string]bool{}
		for range 200 {
			id, err := NewAccountID(tc.prefix)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("NewAccountID(%q) = %q, want an error", tc.prefix, id)
				}
				break
			}
			if err != nil {
				t.Fatalf("NewAccountID(%q): %v", tc.prefix, err)
			}
			if !tc.want.MatchString(id) {
				t.Fatalf("NewAccountID(%q) = %q, want %v", tc.prefix, id, tc.want)
			}
			seen[id] = true
		}
		if tc.want != nil && len(seen) < 199 {
			t.Errorf("NewAccountID(%q): only %d distinct ids in 200", tc.prefix, len(seen))
		}
	}
}
