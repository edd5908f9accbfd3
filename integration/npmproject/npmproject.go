// Package npmproject installs the Node.js projects that integration tests
// run: a folder with a package.json whose dependencies are pinned by a
// committed package-lock.json. EnsureInstalled runs `npm ci` into the
// folder's node_modules (git-ignored) when it is missing or does not match
// the lock file; npm's cache under ~/.npm is reused. InstalledVersion reads
// the version of an installed package.
package npmproject

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// stampFile, in node_modules, holds the SHA-256 of the package-lock.json
// that node_modules was installed from.
const stampFile = ".kafka-auth-proxy-installed"

// installMu serialises installs within one process; the flock in
// EnsureInstalled serialises them across test binaries run in parallel.
var installMu sync.Mutex

// EnsureInstalled runs `npm ci` in dir unless node_modules already matches
// dir's package-lock.json (recorded by a stamp file holding the lock's
// SHA-256) and holds every dependency of dir's package.json. ctx bounds the
// install; npm runs in its own process group, killed when ctx ends.
func EnsureInstalled(ctx context.Context, dir string) error {
	installMu.Lock()
	defer installMu.Unlock()

	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("npm project %s: reading package-lock.json: %w", dir, err)
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	deps, err := dependencies(dir)
	if err != nil {
		return err
	}
	stamp := filepath.Join(dir, "node_modules", stampFile)
	installed := func() bool {
		got, err := os.ReadFile(stamp)
		if err != nil || strings.TrimSpace(string(got)) != want {
			return false
		}
		for _, d := range deps {
			if _, err := os.Stat(filepath.Join(dir, "node_modules", d, "package.json")); err != nil {
				return false
			}
		}
		return true
	}
	if installed() {
		return nil
	}

	lockPath := filepath.Join(os.TempDir(), "kafka-auth-proxy-npm-ci-"+filepath.Base(dir)+".lock")
	lf, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("npm project %s: opening %s: %w", dir, lockPath, err)
	}
	defer lf.Close() // also releases the lock
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("npm project %s: locking %s: %w", dir, lockPath, err)
	}
	if installed() { // another process did it meanwhile
		return nil
	}

	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm project %s: finding npm (Node.js 20+ with npm is needed): %w", dir, err)
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm project %s: npm ci: %w\n%s", dir, err, out)
	}
	if err := os.WriteFile(stamp, []byte(want+"\n"), 0o644); err != nil {
		return fmt.Errorf("npm project %s: writing %s: %w", dir, stamp, err)
	}
	return nil
}

// dependencies lists the names of the dependencies in dir's package.json.
func dependencies(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("npm project %s: reading package.json: %w", dir, err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return nil, fmt.Errorf("npm project %s: parsing package.json: %w", dir, err)
	}
	names := make([]string, 0, len(pkg.Dependencies))
	for name := range pkg.Dependencies {
		names = append(names, name)
	}
	return names, nil
}

// InstalledVersion returns the version of package name as installed in dir's
// node_modules (the "version" of its package.json).
func InstalledVersion(dir, name string) (string, error) {
	path := filepath.Join(dir, "node_modules", name, "package.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("npm project %s: reading %s: %w", dir, path, err)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return "", fmt.Errorf("npm project %s: parsing %s: %w", dir, path, err)
	}
	if pkg.Version == "" {
		return "", fmt.Errorf("npm project %s: %s has no version", dir, path)
	}
	return pkg.Version, nil
}
