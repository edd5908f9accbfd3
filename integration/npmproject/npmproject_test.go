package npmproject

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// project writes a project with one dependency, left at version, and a
// lock file; when installed is true, node_modules holds the dependency and
// a stamp matching the lock.
func project(t *testing.T, installed bool) string {
	t.Helper()
	dir := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lock := `{"name":"p","lockfileVersion":3}`
	write("package.json", `{"name":"p","dependencies":{"@scope/dep":"1.2.3"}}`)
	write("package-lock.json", lock)
	if installed {
		sum := sha256.Sum256([]byte(lock))
		write("node_modules/"+stampFile, hex.EncodeToString(sum[:])+"\n")
		write("node_modules/@scope/dep/package.json", `{"name":"@scope/dep","version":"1.2.3"}`)
	}
	return dir
}

func TestEnsureInstalledUpToDate(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no npm: it must not be needed
	dir := project(t, true)
	if err := EnsureInstalled(context.Background(), dir); err != nil {
		t.Fatalf("EnsureInstalled on an installed project: %v", err)
	}
	v, err := InstalledVersion(dir, "@scope/dep")
	if err != nil || v != "1.2.3" {
		t.Fatalf("InstalledVersion = %q, %v; want 1.2.3", v, err)
	}
}

func TestEnsureInstalledStale(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no npm: the install is attempted and fails
	for name, change := range map[string]func(dir string) error{
		"lock changed": func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "package-lock.json"), []byte(`{"lockfileVersion":3}`), 0o644)
		},
		"dependency missing": func(dir string) error {
			return os.RemoveAll(filepath.Join(dir, "node_modules", "@scope"))
		},
		"never installed": func(string) error { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			dir := project(t, name != "never installed")
			if err := change(dir); err != nil {
				t.Fatal(err)
			}
			err := EnsureInstalled(context.Background(), dir)
			if err == nil || !strings.Contains(err.Error(), "finding npm") {
				t.Fatalf("EnsureInstalled = %v; want an attempt to run npm", err)
			}
		})
	}
}

func TestInstalledVersionMissing(t *testing.T) {
	if _, err := InstalledVersion(project(t, false), "@scope/dep"); err == nil {
		t.Fatal("InstalledVersion of a package that is not installed: no error")
	}
}
