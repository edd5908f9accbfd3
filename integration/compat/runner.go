package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Runner runs plans with one client library.
type Runner interface {
	// Version is the version of the client library that Run uses, as the
	// table shows it ("4.4.0", "librdkafka 2.0.2"). It may prepare the
	// runner (build, install) first.
	Version(ctx context.Context) (string, error)
	// Run performs p.Steps and returns the client's output (for the test
	// log) and its results. err is for a runner that could not run at
	// all; a step that failed is a Result.
	Run(ctx context.Context, p Plan) (output string, results []Result, err error)
}

// Client is a row group of the matrix: one client library.
type Client struct {
	// Name labels the client in test names and the table, e.g. "kafkajs".
	Name string
	// Description says what it is, e.g. "KafkaJS (npm)".
	Description string
	// OIDC is true when the client fetches its own token from the token
	// endpoint (client-credentials grant); otherwise the test fetches one
	// and hands the client Plan.Token.
	OIDC bool
	// Unsupported lists the steps the client cannot do at all, with the
	// reason the table shows. They are not asked of the runner; a runner
	// that reports any other step unsupported fails that step.
	Unsupported map[Step]string
	// Runner runs its plans.
	Runner Runner
}

// RunProcess runs a runner program: name with args and, last, the path of a
// file holding p as JSON. It returns the program's combined output and the
// STEP lines in it. The program runs in its own process group, which is
// killed when ctx ends.
func RunProcess(ctx context.Context, dir string, env []string, p Plan, name string, args ...string) (string, []Result, error) {
	plan, remove, err := writePlan(p)
	if err != nil {
		return "", nil, err
	}
	defer remove()
	cmd := exec.CommandContext(ctx, name, append(args, plan)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	res, err := resultsOf(ctx, out.String(), runErr)
	if err != nil {
		return out.String(), nil, fmt.Errorf("%s: %w", filepath.Base(name), err)
	}
	return out.String(), res, nil
}

// writePlan writes p as JSON to a new temporary file, readable by its
// owner only (the plan holds credentials); remove deletes it.
func writePlan(p Plan) (path string, remove func(), err error) {
	f, err := os.CreateTemp("", "compat-plan-*.json")
	if err != nil {
		return "", nil, fmt.Errorf("write the plan: %w", err)
	}
	remove = func() { os.Remove(f.Name()) }
	if err := errors.Join(json.NewEncoder(f).Encode(p), f.Close()); err != nil {
		remove()
		return "", nil, fmt.Errorf("write the plan: %w", err)
	}
	return f.Name(), remove, nil
}

// resultsOf reads the STEP lines of a runner program's output. Runners
// exit non-zero when a step failed, so runErr (the program's exit) is an
// error only when the program reported no step.
func resultsOf(ctx context.Context, out string, runErr error) ([]Result, error) {
	res, err := ParseOutput(out)
	if err != nil {
		return nil, err
	}
	if runErr != nil && len(res) == 0 {
		if ctx.Err() != nil {
			runErr = errors.Join(runErr, context.Cause(ctx))
		}
		return nil, runErr
	}
	return res, nil
}
