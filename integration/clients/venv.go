package clients

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	venvsMu sync.Mutex
	venvs   = map[string]string{} // by name and requirements file; cached on success only
)

// MakeVenv returns the folder of a Python virtual environment with the
// packages of the requirements file, creating it if needed. It lives in
// the user's cache dir, in a folder named name-<hash> after a hash of the
// requirements and of the interpreter, and is complete when its stamp file
// exists; a flock serialises creation across processes. Once made, it is
// checked by running check, whose first element is a path inside the venv
// ("bin/python"), with env (nil: this process's).
func MakeVenv(ctx context.Context, name, requirements string, env []string, check ...string) (string, error) {
	venvsMu.Lock()
	defer venvsMu.Unlock()
	if dir, ok := venvs[name+"\x00"+requirements]; ok {
		return dir, nil
	}
	req, err := os.ReadFile(requirements)
	if err != nil {
		return "", fmt.Errorf("python venv: read %s: %w", requirements, err)
	}
	base, err := exec.LookPath("python3")
	if err != nil {
		return "", fmt.Errorf("python venv: python3 not found (Python 3 with venv and pip is needed; see .ci/prereqs): %w", err)
	}
	ident, err := exec.CommandContext(ctx, base, "-c", "import sys; print(sys.version); print(sys.executable)").Output()
	if err != nil {
		return "", fmt.Errorf("python venv: run %s: %w", base, err)
	}
	key := venvKey(req, ident)
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("python venv: no cache dir: %w", err)
	}
	root := filepath.Join(cache, "kafka-auth-proxy")
	dir := filepath.Join(root, name+"-"+key)
	stamp := filepath.Join(dir, ".kafka-auth-proxy-complete")
	ready := func() bool {
		got, err := os.ReadFile(stamp)
		if err != nil || strings.TrimSpace(string(got)) != key {
			return false
		}
		_, err = os.Stat(filepath.Join(dir, check[0]))
		return err == nil
	}
	done := func() (string, error) {
		venvs[name+"\x00"+requirements] = dir
		return dir, nil
	}
	if ready() {
		return done()
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("python venv: create %s: %w", root, err)
	}
	unlock, err := lockFile(filepath.Join(root, name+"-"+key+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if ready() { // another process made it meanwhile
		return done()
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("python venv: remove incomplete venv %s: %w", dir, err)
	}
	py := filepath.Join(dir, "bin", "python")
	steps := [][]string{
		{base, "-m", "venv", dir},
		{py, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet",
			"--only-binary=:all:", "-r", requirements},
		append([]string{filepath.Join(dir, check[0])}, check[1:]...),
	}
	for _, step := range steps {
		cmd := exec.CommandContext(ctx, step[0], step[1:]...)
		cmd.Env = env
		SetProcessGroup(cmd)
		if out, err := cmd.CombinedOutput(); err != nil {
			hint := ""
			if len(step) > 2 && step[1] == "-m" && step[2] == "venv" {
				hint = " (on Debian/Ubuntu: apt-get install python3-venv)"
			}
			return "", fmt.Errorf("python venv: create it in %s: %s: %w%s\n%s",
				dir, strings.Join(step, " "), err, hint, strings.TrimSpace(string(out)))
		}
	}
	if err := os.WriteFile(stamp, []byte(key+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("python venv: write %s: %w", stamp, err)
	}
	return done()
}

// venvKey names a venv after the requirements and the interpreter identity
// (version and path): a different Python needs a different venv.
func venvKey(requirements, interpreter []byte) string {
	h := sha256.New()
	h.Write(requirements)
	h.Write([]byte{0})
	h.Write(interpreter)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// SetProcessGroup makes cmd run in its own process group, killed as a
// whole when its context ends, and by the kernel if the test process dies.
func SetProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
}

// lockFile takes an exclusive flock on path, creating it if needed.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("python venv: open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("python venv: lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too
		f.Close()
	}, nil
}
