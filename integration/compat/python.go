package compat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/clients"
)

// PythonRunner runs plans with librdkafka through its Python binding
// confluent-kafka, whose wheel bundles librdkafka, by running
// integration/clients/python/compat.py in the virtual environment of
// package clients (confluent-kafka pinned in
// integration/clients/python/requirements.txt, installed from PyPI on
// first use). With OAUTHBEARER librdkafka fetches its own token
// (sasl.oauthbearer.method=oidc).
type PythonRunner struct{}

// Version creates the venv if needed and returns the binding's and its
// librdkafka's versions, e.g. "confluent-kafka 2.16.1 (librdkafka 2.16.0)".
func (PythonRunner) Version(ctx context.Context) (string, error) {
	argv, err := clients.PythonScript(ctx, "compat.py", "--version")
	if err != nil {
		return "", fmt.Errorf("confluent-kafka: %w", err)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), clients.PythonEnv()...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		return "", fmt.Errorf("confluent-kafka: %s: %w\n%s", strings.Join(argv, " "), err, stderr)
	}
	v := strings.TrimSpace(string(out))
	if !strings.HasPrefix(v, "confluent-kafka ") || strings.Contains(v, "\n") {
		return "", fmt.Errorf("confluent-kafka: unexpected version output %q", v)
	}
	return v, nil
}

// Run creates the venv if needed and runs `python compat.py PLAN`.
func (PythonRunner) Run(ctx context.Context, p Plan) (string, []Result, error) {
	argv, err := clients.PythonScript(ctx, "compat.py")
	if err != nil {
		return "", nil, fmt.Errorf("confluent-kafka: %w", err)
	}
	return RunProcess(ctx, "", clients.PythonEnv(), p, argv[0], argv[1:]...)
}
