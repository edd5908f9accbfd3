package harness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	// javaVersionCP caches the classpaths of RunJavaClientVersion's builds,
	// on success only.
	javaVersionCP = map[javaBuild]string{}
)

// javaBuild names one build of RunJavaClientVersion.
type javaBuild struct {
	kafkaVersion string // of org.apache.kafka:kafka-clients
	mainClass    string // the class compiled (with ClientSupport)
}

var (
	// kafkaVersionPattern is what RunJavaClientVersion accepts as a
	// kafka-clients version: it becomes a directory name and a Maven
	// property.
	kafkaVersionPattern = regexp.MustCompile(`^[0-9][0-9A-Za-z.-]*$`)
	// javaClassPattern is a fully qualified Java class name.
	javaClassPattern = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$`)
)

// JavaRoundTrip runs the Java client of integration/java
// (io.kafkaauthproxy.it.RoundTrip) against bootstrap: it produces count
// records to topic with acks=all and idempotence, then consumes them back in
// a fresh consumer group, committing offsets. props are extra client
// properties (for example security.protocol, sasl.mechanism,
// sasl.jaas.config) applied to both producer and consumer. A key that
// starts with "-D" is not a client property but a JVM system property:
// {"-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls": URL} runs the JVM
// with -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=URL. (The client
// also allows, when that property is not set, the token and JWKS endpoint
// URLs named in props, since Kafka 4 refuses any other.)
//
// The Maven project is built once per process. output is the client's
// combined stdout and stderr; on success its last line starts with "OK". err
// is non-nil when the build fails or the client exits non-zero (it gives up
// by itself after 60 seconds) and then includes the output.
func JavaRoundTrip(ctx context.Context, bootstrap string, topic string, count int, props map[string]string) (output string, err error) {
	group := fmt.Sprintf("%s-java-%d", topic, time.Now().UnixNano())
	output, err = RunJavaClient(ctx, "io.kafkaauthproxy.it.RoundTrip", []string{
		"--bootstrap", bootstrap,
		"--topic", topic,
		"--count", fmt.Sprint(count),
		"--group", group,
	}, props)
	if err != nil {
		return output, fmt.Errorf("java round trip against %s, topic %s: %w", bootstrap, topic, err)
	}
	return output, nil
}

// RunJavaClient runs mainClass of integration/java (built with Maven once
// per process) with args, and then one "--property key=value" argument per
// entry of props, sorted by key, except that keys starting with "-D" become
// JVM system properties (-Dname=value) instead. The JVM is small (256 MiB
// heap, serial GC, C1 only), runs in its own process group and is killed
// with it when ctx ends or the test process dies.
//
// The main classes of integration/java print a last line starting with "OK"
// and exit 0 on success, or a line starting with "FAIL: " and exit 1.
// output is the combined stdout and stderr, trimmed; err is non-nil when
// the build fails or the process exits non-zero, and then quotes the FAIL
// line and the whole output.
func RunJavaClient(ctx context.Context, mainClass string, args []string, props map[string]string) (output string, err error) {
	cp, err := javaClasspath(ctx)
	if err != nil {
		return "", err
	}
	return runJava(ctx, cp, mainClass, args, props)
}

// RunJavaClientVersion is RunJavaClient with mainClass built against
// release kafkaVersion of org.apache.kafka:kafka-clients (for example
// "3.9.2") instead of the pom's default: the client compatibility matrix
// (integration/compat) runs its Java runner, io.kafkaauthproxy.it.Compat,
// with more than one release. args, props, the JVM, output and err are as
// for RunJavaClient (main classes that do not print OK or FAIL lines, like
// Compat, are still judged by their exit status alone).
//
// Only mainClass's source file and ClientSupport.java are compiled, since
// the other main classes of integration/java are written for the pom's
// release and need not compile against another; mainClass must use no other
// class of the project (javac would compile it from the source path, but
// Maven would not see it change). Each build has its own output directory,
// integration/java/target/kafka-VERSION/MAINCLASS, so that builds for other
// releases or classes, and the default build in target/, never overwrite
// classes that a running JVM uses. Each (kafkaVersion, mainClass) is built
// once per process; Maven fetches the release on first use.
func RunJavaClientVersion(ctx context.Context, kafkaVersion, mainClass string, args []string, props map[string]string) (output string, err error) {
	cp, err := javaVersionClasspath(ctx, javaBuild{kafkaVersion: kafkaVersion, mainClass: mainClass})
	if err != nil {
		return "", err
	}
	return runJava(ctx, cp, mainClass, args, props)
}

// runJava runs mainClass with classpath cp; see RunJavaClient.
func runJava(ctx context.Context, cp, mainClass string, args []string, props map[string]string) (output string, err error) {
	jvm := append([]string{}, javaClientJVMOptions...)
	var clientArgs []string
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if strings.HasPrefix(k, "-D") {
			jvm = append(jvm, k+"="+props[k])
			continue
		}
		clientArgs = append(clientArgs, "--property", k+"="+props[k])
	}
	cmdArgs := append(jvm, "-cp", cp, mainClass)
	cmdArgs = append(cmdArgs, args...)
	cmdArgs = append(cmdArgs, clientArgs...)
	cmd := exec.CommandContext(ctx, "java", cmdArgs...)
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
		return output, fmt.Errorf("%s: %w: %s\nfull output:\n%s", mainClass, err, reason, output)
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

// javaVersionClasspath builds b.mainClass of integration/java against
// kafka-clients b.kafkaVersion, once per process, in a directory of its own,
// and returns the classpath that runs it; see RunJavaClientVersion.
func javaVersionClasspath(ctx context.Context, b javaBuild) (string, error) {
	if !kafkaVersionPattern.MatchString(b.kafkaVersion) {
		return "", fmt.Errorf("harness: %q is not a kafka-clients version", b.kafkaVersion)
	}
	if !javaClassPattern.MatchString(b.mainClass) {
		return "", fmt.Errorf("harness: %q is not a Java class name", b.mainClass)
	}
	javaBuildMu.Lock()
	defer javaBuildMu.Unlock()
	if cp, ok := javaVersionCP[b]; ok {
		return cp, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	project := filepath.Join(root, "integration", "java")
	source := strings.ReplaceAll(b.mainClass, ".", "/") + ".java"
	if _, err := os.Stat(filepath.Join(project, "src", "main", "java", filepath.FromSlash(source))); err != nil {
		return "", fmt.Errorf("harness: main class %s: %w", b.mainClass, err)
	}
	dir := filepath.Join(project, "target", "kafka-"+b.kafkaVersion, b.mainClass)
	cpFile := filepath.Join(dir, "classpath.txt")
	if err := runMaven(ctx, filepath.Join(project, "pom.xml"),
		"package", "dependency:build-classpath",
		"-Dkafka.version="+b.kafkaVersion,
		"-DbuildDirectory="+dir,
		"-DcompileIncludes="+source,
		"-Dmdep.outputFile="+cpFile); err != nil {
		return "", fmt.Errorf("harness: build java client %s against kafka-clients %s: %w", b.mainClass, b.kafkaVersion, err)
	}
	deps, err := os.ReadFile(cpFile)
	if err != nil {
		return "", fmt.Errorf("harness: read java client classpath: %w", err)
	}
	if strings.TrimSpace(string(deps)) == "" {
		return "", fmt.Errorf("harness: maven wrote an empty java client classpath for kafka-clients %s", b.kafkaVersion)
	}
	cp := filepath.Join(dir, "classes") + string(os.PathListSeparator) + strings.TrimSpace(string(deps))
	javaVersionCP[b] = cp
	return cp, nil
}
