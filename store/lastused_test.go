package store

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLastUsed(t *testing.T) {
	early, late := t0, t0.Add(time.Hour)
	for _, tc := range []struct {
		name     string
		existing string // "" for no file
		seen     map[string]time.Time
		want     map[string]time.Time
	}{
		{name: "no file, nothing seen", want: map[string]time.Time{}},
		{name: "first use", seen: map[string]time.Time{"A": early}, want: map[string]time.Time{"A": early}},
		{name: "later use replaces", existing: `{"A": "2025-03-01T12:00:00Z"}`,
			seen: map[string]time.Time{"A": late}, want: map[string]time.Time{"A": late}},
		{name: "earlier use is ignored", existing: `{"A": "2025-03-01T13:00:00Z"}`,
			seen: map[string]time.Time{"A": early}, want: map[string]time.Time{"A": late}},
		{name: "other keys are kept", existing: `{"A": "2025-03-01T12:00:00Z"}`,
			seen: map[string]time.Time{"B": late}, want: map[string]time.Time{"A": early, "B": late}},
		{name: "times are stored in UTC to the second",
			seen: map[string]time.Time{"A": early.Add(999 * time.Millisecond).In(time.FixedZone("X", 3600))},
			want: map[string]time.Time{"A": early}},
		{name: "a corrupt file is replaced", existing: `{"A": `,
			seen: map[string]time.Time{"B": late}, want: map[string]time.Time{"B": late}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if tc.existing != "" {
				writeTestFile(t, LastUsedPath(path), tc.existing)
			}
			if err := MergeLastUsed(path, tc.seen); err != nil {
				t.Fatal(err)
			}
			got, err := LoadLastUsed(path)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.EqualFunc(got, tc.want, time.Time.Equal) {
				t.Errorf("LoadLastUsed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLastUsedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := MergeLastUsed(path, map[string]time.Time{"A": t0}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path + ".last-used")
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"A\": \"2025-03-01T12:00:00Z\"\n}\n"; string(data) != want {
		t.Errorf("last-used file = %q, want %q", data, want)
	}
	if fi, _ := os.Stat(path + ".last-used"); fi.Mode() != 0o600 {
		t.Errorf("last-used file mode %v, want 0600", fi.Mode())
	}
}

func TestLoadLastUsedCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	writeTestFile(t, LastUsedPath(path), "{\n  \"A\": ]\n}")
	_, err := LoadLastUsed(path)
	if err == nil || !strings.Contains(err.Error(), LastUsedPath(path)) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("LoadLastUsed(corrupt) = %v, want an error naming the file and line 2", err)
	}
}

func TestCapLastUsed(t *testing.T) {
	used := map[string]time.Time{}
	for i := range 10 {
		used[fmt.Sprint(i)] = t0.Add(time.Duration(i) * time.Second)
	}
	capLastUsed(used, 3)
	want := map[string]time.Time{"7": t0.Add(7 * time.Second), "8": t0.Add(8 * time.Second), "9": t0.Add(9 * time.Second)}
	if !maps.EqualFunc(used, want, time.Time.Equal) {
		t.Errorf("capLastUsed kept %v, want the 3 newest %v", used, want)
	}
}

// t0 is a fixed time for tests.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
