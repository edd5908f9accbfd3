package harness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// javaClientJVMOptions keeps the client JVM small and quick to start.
var javaClientJVMOptions = []string{
	"-Xmx256m",
	"-XX:+UseSerialGC",
	"-XX:TieredStopAtLevel=1",
	"-XX:-UsePerfData",
	"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
}

var (
	javaBuildMu sync.Mutex
	javaCP      string // classes dir + dependencies; cached on success only
)

// JavaRoundTrip runs the Java client of integration/java
// (io.kafkaauthproxy.it.RoundTrip) against bootstrap: it produces count
// records to topic with acks=all and idempotence, then consumes them back in
// a fresh consumer group, committing offsets. props are extra client
// properties (for example security.protocol, sasl.mechanism,
// sasl.jaas.config) applied to both producer and consumer.
//
// The Maven project is built once per process. output is the client's
// combined stdout and stderr; on success its last line starts with "OK". err
// is non-nil when the build fails or the client exits non-zero (it gives up
// by itself after 60 seconds) and then includes the output.
func JavaRoundTrip(ctx context.Context, bootstrap string, topic string, count int, props map[string]string) (output string, err error) {
	cp, err := javaClasspath(ctx)
	if err != nil {
		return "", err
	}
	group := fmt.Sprintf("%s-java-%d", topic, time.Now().UnixNano())
	args := append([]string{}, javaClientJVMOptions...)
	args = append(args, "-cp", cp, "io.kafkaauthproxy.it.RoundTrip",
		"--bootstrap", bootstrap,
		"--topic", topic,
		"--count", fmt.Sprint(count),
		"--group", group)
	for _, k := range slices.Sorted(maps.Keys(props)) {
		args = append(args, "--property", k+"="+props[k])
	}
	cmd := exec.CommandContext(ctx, "java", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	output = strings.TrimSpace(string(out))
	if err != nil {
		reason := "no FAIL line"
		for _, line := range strings.Split(output, "\n") {
			if strings.HasPrefix(line, "FAIL: ") {
				reason = line
			}
		}
		return output, fmt.Errorf("java round trip against %s, topic %s: %w: %s\nfull output:\n%s", bootstrap, topic, err, reason, output)
	}
	return output, nil
}

// javaClasspath builds integration/java with Maven, once per process, and
// returns the classpath that runs RoundTrip.
func javaClasspath(ctx context.Context) (string, error) {
	javaBuildMu.Lock()
	defer javaBuildMu.Unlock()
	if javaCP != "" {
		return javaCP, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	project := filepath.Join(root, "integration", "java")
	target := filepath.Join(project, "target")
	cpFile := filepath.Join(target, "classpath.txt")
	if err := runMaven(ctx, filepath.Join(project, "pom.xml"),
		"package", "dependency:build-classpath", "-Dmdep.outputFile="+cpFile); err != nil {
		return "", fmt.Errorf("harness: build java client: %w", err)
	}
	deps, err := os.ReadFile(cpFile)
	if err != nil {
		return "", fmt.Errorf("harness: read java client classpath: %w", err)
	}
	if strings.TrimSpace(string(deps)) == "" {
		return "", errors.New("harness: maven wrote an empty java client classpath")
	}
	javaCP = filepath.Join(target, "classes") + string(os.PathListSeparator) + strings.TrimSpace(string(deps))
	return javaCP, nil
}
