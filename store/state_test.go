package store

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

	testState = &State{
		Version:  Version,
		Accounts: []Account{{ID: "sa-abc123", Description: "billing", Created: t0}},
		Keys: []Key{{ID: "ABCDEFGHIJ012345", SecretHash: "sha256$x$y", Account: "sa-abc123",
			Cluster: "lkc-1", Description: "billing producer", Created: t0}},
	}
)

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	good, err := encode(testState)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		content *string // nil: no file
		want    *State
		wantErr []string // substrings of the error, which always names the file
	}{
		{name: "missing file is an empty state", want: &State{Version: Version}},
		{name: "empty object is an empty state", content: ptr("{}"), want: &State{Version: Version}},
		{name: "empty file", content: ptr(""), wantErr: []string{"file is empty"}},
		{name: "blank file", content: ptr(" \n"), wantErr: []string{"file is empty"}},
		{name: "state", content: ptr(string(good)), want: testState},
		{name: "file without version", content: ptr(`{"accounts": [{"id": "u-x", "created": "2025-03-01T12:00:00Z"}]}`),
			want: &State{Version: Version, Accounts: []Account{{ID: "u-x", Created: t0}}}},
		{name: "unknown fields are ignored", content: ptr(`{"version": 1, "future": true}`), want: &State{Version: Version}},
		{name: "syntax error", content: ptr("{\n  \"version\": 1,\n  \"keys\": [}\n"),
			wantErr: []string{"line 3, column 12", "invalid character '}'"}},
		{name: "wrong type", content: ptr("{\n  \"keys\": [\n    {\"id\": 5}\n  ]\n}"),
			wantErr: []string{"line 3, column 12", "cannot unmarshal number", "id"}},
		{name: "truncated", content: ptr(`{"version": 1,`), wantErr: []string{"line 1, column 14", "unexpected end of JSON input"}},
		{name: "bad time", content: ptr(`{"accounts": [{"created": "yesterday"}]}`), wantErr: []string{`"yesterday"`}},
		{name: "version 0 is the current one", content: ptr(`{"version": 0}`), want: &State{Version: Version}},
		{name: "negative version", content: ptr(`{"version": -1}`), wantErr: []string{"format version -1 is invalid"}},
		{name: "newer format", content: ptr(`{"version": 2}`), wantErr: []string{"format version 2 is newer", "upgrade"}},
		{name: "not an object", content: ptr(`[]`), wantErr: []string{"line 1, column 1", "cannot unmarshal array"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if tc.content != nil {
				writeTestFile(t, path, *tc.content)
			}
			got, err := Load(path)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Load succeeded, want an error")
				}
				for _, s := range append(tc.wantErr, "state file "+path+": ") {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("Load error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Load = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir) // a directory
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Load(directory) = %v, want an error naming %s", err, dir)
	}
}

// TestEncode: the file is indented JSON with lists, never null.
func TestEncode(t *testing.T) {
	data, err := encode(&State{})
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"version\": 1,\n  \"accounts\": [],\n  \"keys\": []\n}\n"
	if string(data) != want {
		t.Errorf("encode(empty) = %q, want %q", data, want)
	}
}

func ptr[T any](v T) *T { return &v }
