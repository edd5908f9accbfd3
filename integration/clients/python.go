package clients

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// DefaultPythonTimeout bounds a PythonRoundTrip whose Timeout is zero.
const DefaultPythonTimeout = 60 * time.Second

// PythonOptions describes one PythonRoundTrip.
type PythonOptions struct {
	// Bootstrap is the bootstrap.servers list, e.g. "127.0.0.1:9092".
	Bootstrap string
	// Topic is produced to and consumed from; it must exist or be
	// auto-created.
	Topic string
	// Count is the number of records; zero means 10.
	Count int
	// Group is the consumer group; empty means a fresh one named after the
	// topic.
	Group string
	// Config holds librdkafka properties applied to the producer and the
	// consumer after the defaults: security.protocol, sasl.mechanism,
	// sasl.username, sasl.password, or sasl.oauthbearer.method=oidc with
	// sasl.oauthbearer.client.id, sasl.oauthbearer.client.secret,
	// sasl.oauthbearer.token.endpoint.url, sasl.oauthbearer.scope and
	// sasl.oauthbearer.extensions ("key=value,key=value"). See
	// PythonOIDCConfig and PythonPlainConfig.
	Config map[string]string
	// Timeout bounds the whole run once Python has started (the venv is
	// created before); zero means DefaultPythonTimeout. A refused login
	// fails at once, not at the timeout.
	Timeout time.Duration
}

// PythonRoundTrip produces o.Count records with librdkafka (the Python
// binding confluent-kafka, pinned in python/requirements.txt) and consumes
// them back in a consumer group, committing offsets, by running
// python/roundtrip.py. The first call creates the virtual environment (see
// the package doc), which needs PyPI once; later calls and processes reuse
// it.
//
// output is the script's combined stdout and stderr, librdkafka's own log
// lines included; on success its last line is "OK produced=N consumed=N
// ... librdkafka=VERSION". err is non-nil when the venv cannot be made or
// the run fails; it then quotes the FAIL line, which carries librdkafka's
// error text (for a refused login, e.g. "_AUTHENTICATION (code -169): SASL
// authentication error: Authentication failed: ..."), and the whole output.
func PythonRoundTrip(ctx context.Context, o PythonOptions) (output string, err error) {
	if o.Bootstrap == "" || o.Topic == "" {
		return "", errors.New("clients: PythonRoundTrip needs Bootstrap and Topic")
	}
	if o.Count == 0 {
		o.Count = 10
	}
	if o.Count < 0 {
		return "", fmt.Errorf("clients: PythonRoundTrip: Count %d is negative", o.Count)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultPythonTimeout
	}
	if o.Group == "" {
		o.Group = fmt.Sprintf("%s-py-%d", o.Topic, time.Now().UnixNano())
	}
	cfg := o.Config
	if cfg == nil {
		cfg = map[string]string{}
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("clients: encode librdkafka config: %w", err)
	}
	// The venv is made (if need be) before Timeout starts.
	argv, err := PythonScript(ctx, "roundtrip.py",
		"--bootstrap", o.Bootstrap,
		"--topic", o.Topic,
		"--count", fmt.Sprint(o.Count),
		"--group", o.Group,
		"--timeout-seconds", fmt.Sprintf("%.3f", o.Timeout.Seconds()),
		"--config-json", string(cfgJSON))
	if err != nil {
		return "", err
	}
	// The script stops itself at Timeout (+5 s for a blocked call); the
	// context is the backstop, with room for Python's own start.
	ctx, cancel := context.WithTimeout(ctx, o.Timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), PythonEnv()...)
	SetProcessGroup(cmd)
	out, err := cmd.CombinedOutput()
	output = strings.TrimSpace(string(out))
	if err != nil {
		return output, fmt.Errorf("python round trip against %s, topic %s: %w: %s\nfull output:\n%s",
			o.Bootstrap, o.Topic, err, failLine(output), output)
	}
	return output, nil
}

// PythonOIDCConfig returns librdkafka properties that log in with
// SASL/OAUTHBEARER over SASL_PLAINTEXT, librdkafka fetching the token itself
// from tokenURL with the client-credentials grant
// (sasl.oauthbearer.method=oidc). extensions, if any, are sent as SASL
// extensions (sasl.oauthbearer.extensions); librdkafka accepts only keys of
// letters and refuses the key "auth".
func PythonOIDCConfig(tokenURL, clientID, secret string, extensions map[string]string) map[string]string {
	cfg := map[string]string{
		"security.protocol":                   "SASL_PLAINTEXT",
		"sasl.mechanism":                      "OAUTHBEARER",
		"sasl.oauthbearer.method":             "oidc",
		"sasl.oauthbearer.client.id":          clientID,
		"sasl.oauthbearer.client.secret":      secret,
		"sasl.oauthbearer.token.endpoint.url": tokenURL,
	}
	if len(extensions) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(extensions)) {
			kv = append(kv, k+"="+extensions[k])
		}
		cfg["sasl.oauthbearer.extensions"] = strings.Join(kv, ",")
	}
	return cfg
}

// PythonPlainConfig returns librdkafka properties that log in with
// SASL/PLAIN over SASL_PLAINTEXT.
func PythonPlainConfig(user, pass string) map[string]string {
	return map[string]string{
		"security.protocol": "SASL_PLAINTEXT",
		"sasl.mechanism":    "PLAIN",
		"sasl.username":     user,
		"sasl.password":     pass,
	}
}

// PythonScript returns the command line that runs script, a file of this
// package's python/ folder (e.g. "roundtrip.py"), with args in the virtual
// environment of python/requirements.txt: the venv's interpreter, the
// script's path, then args. It creates the venv first if needed (see the
// package doc). Run the command with PythonEnv added to the environment.
func PythonScript(ctx context.Context, script string, args ...string) ([]string, error) {
	if script == "" || filepath.Base(script) != script {
		return nil, fmt.Errorf("clients: PythonScript: %q is not a file name of python/", script)
	}
	py, err := pythonVenv(ctx)
	if err != nil {
		return nil, err
	}
	src, err := sourceDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(src, "python", script)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("clients: PythonScript: %w", err)
	}
	return append([]string{py, path}, args...), nil
}

// PythonEnv returns the environment variables, beyond the caller's, that a
// script of PythonScript runs with: unbuffered output, so that lines
// printed before a crash or a kill are not lost, and no bytecode files
// written into the source tree.
func PythonEnv() []string {
	return []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"}
}

// pythonVenv returns the python of the venv for python/requirements.txt
// (MakeVenv), which has confluent-kafka.
func pythonVenv(ctx context.Context) (string, error) {
	src, err := sourceDir()
	if err != nil {
		return "", err
	}
	dir, err := MakeVenv(ctx, "venv", filepath.Join(src, "python", "requirements.txt"), nil,
		"bin/python", "-c", "import confluent_kafka; print(confluent_kafka.version(), confluent_kafka.libversion())")
	if err != nil {
		return "", fmt.Errorf("clients: %w", err)
	}
	return filepath.Join(dir, "bin", "python"), nil
}

// sourceDir is the folder of this package's sources (python/ is in it).
func sourceDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("clients: cannot locate the package source folder")
	}
	return filepath.Dir(file), nil
}

// failLine returns the last line of output starting with "FAIL: ", or a
// note that there is none.
func failLine(output string) string {
	reason := "no FAIL line"
	for _, line := range strings.Split(output, "\n") {
		if strings.HasPrefix(line, "FAIL: ") {
			reason = line
		}
	}
	return reason
}

// SummaryFields returns the key=value pairs of the last line of output that
// starts with "OK" (as printed by PythonRoundTrip, harness.JavaRoundTrip
// and JavaConsumeFor), e.g. {"produced": "10", "consumed": "10", ...}, or
// nil when there is no such line.
func SummaryFields(output string) map[string]string {
	var last string
	for _, line := range strings.Split(output, "\n") {
		if line == "OK" || strings.HasPrefix(line, "OK ") {
			last = line
		}
	}
	if last == "" {
		return nil
	}
	fields := map[string]string{}
	for _, f := range strings.Fields(last)[1:] {
		if k, v, ok := strings.Cut(f, "="); ok {
			fields[k] = v
		}
	}
	return fields
}
