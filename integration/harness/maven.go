package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
)

var (
	kafkaCPMu sync.Mutex
	kafkaCP   string // cached on success only, so a cancelled first call does not poison later ones
)

// kafkaClasspath resolves the broker classpath from
// integration/kafkadist/pom.xml, once per process.
func kafkaClasspath(ctx context.Context) (string, error) {
	kafkaCPMu.Lock()
	defer kafkaCPMu.Unlock()
	if kafkaCP != "" {
		return kafkaCP, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out, err := os.CreateTemp("", "kafka-classpath-*.txt")
	if err != nil {
		return "", fmt.Errorf("harness: classpath file: %w", err)
	}
	out.Close()
	defer os.Remove(out.Name())
	pom := filepath.Join(root, "integration", "kafkadist", "pom.xml")
	if err := runMaven(ctx, pom, "dependency:build-classpath", "-Dmdep.outputFile="+out.Name()); err != nil {
		return "", fmt.Errorf("harness: resolve kafka classpath: %w", err)
	}
	data, err := os.ReadFile(out.Name())
	if err != nil {
		return "", fmt.Errorf("harness: read kafka classpath: %w", err)
	}
	cp := strings.TrimSpace(string(data))
	if cp == "" {
		return "", errors.New("harness: maven wrote an empty kafka classpath")
	}
	kafkaCP = cp
	return cp, nil
}

// runMaven runs `mvn -q -B -f pom goals...`, first offline (a warm ~/.m2
// needs no network) and then online if that fails. Invocations from all
// processes on the machine are serialised by a file lock, because the local
// Maven repository and target/ directories are not safe for concurrent
// writers (go test runs packages in parallel).
func runMaven(ctx context.Context, pom string, goals ...string) error {
	unlock, err := lockFile(filepath.Join(os.TempDir(), "kafka-auth-proxy-harness-maven.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	args := append([]string{"-q", "-B", "-f", pom}, goals...)
	offline, err := exec.CommandContext(ctx, "mvn", append([]string{"-o"}, args...)...).CombinedOutput()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("mvn -o %s: %w", strings.Join(args, " "), ctx.Err())
	}
	online, err := exec.CommandContext(ctx, "mvn", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mvn %s: %w\noffline attempt:\n%s\nonline attempt:\n%s",
			strings.Join(args, " "), err, tail(offline, 40), tail(online, 40))
	}
	return nil
}

// lockFile takes an exclusive flock on path, creating it if needed.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("harness: open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("harness: lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// moduleRoot finds the repository root (the directory holding go.mod):
// from this source file's location when it is available, which works from
// any test package and from `go run`, else from `go list -m`.
func moduleRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Join(filepath.Dir(file), "..", "..")
		if _, err := os.Stat(filepath.Join(root, "integration", "kafkadist", "pom.xml")); err == nil {
			return filepath.Clean(root), nil
		}
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("harness: find module root with go list -m: %w", err)
	}
	root := strings.TrimSpace(string(out))
	if _, err := os.Stat(filepath.Join(root, "integration", "kafkadist", "pom.xml")); err != nil {
		return "", fmt.Errorf("harness: module root %q has no integration/kafkadist/pom.xml: %w", root, err)
	}
	return root, nil
}

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
