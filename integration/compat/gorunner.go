package compat

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// stepFunc performs one step in process and returns what happened (the
// Result's detail) or why it failed.
type stepFunc func(ctx context.Context, p Plan) (string, error)

// runSteps runs the steps of p with the Go library runners' step
// functions, each bounded by p.StepTimeoutMs, and reports them as a
// program's STEP lines would. A step without a function is reported
// unsupported, which the matrix counts as a failure unless the client
// declares it.
func runSteps(ctx context.Context, p Plan, fns map[Step]stepFunc) (string, []Result) {
	var (
		log strings.Builder
		res []Result
	)
	for _, s := range p.Steps {
		fn, ok := fns[s]
		if !ok {
			res = append(res, Result{Step: s, Outcome: Unsupported, Detail: "no implementation"})
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, stepTimeout(p))
		detail, err := fn(sctx, p)
		cancel()
		r := Result{Step: s, Outcome: OK, Detail: detail}
		if err != nil {
			r.Outcome, r.Detail = Failed, err.Error()
		}
		fmt.Fprintf(&log, "STEP %s %s %s\n", r.Step, r.Outcome, oneLine(r.Detail))
		res = append(res, r)
	}
	return log.String(), res
}

// stepTimeout is p's per-step bound, 30 s when unset.
func stepTimeout(p Plan) time.Duration {
	if p.StepTimeoutMs <= 0 {
		return 30 * time.Second
	}
	return time.Duration(p.StepTimeoutMs) * time.Millisecond
}

// consumed tracks the values a consumer step has seen against the ones it
// waits for and the ones it must not see.
type consumed struct {
	want      map[string]bool // still missing
	forbidden map[string]bool
	seen      []string
	bad       []string
}

func newConsumed(want, forbidden []string) *consumed {
	c := &consumed{want: map[string]bool{}, forbidden: map[string]bool{}}
	for _, v := range want {
		c.want[v] = true
	}
	for _, v := range forbidden {
		c.forbidden[v] = true
	}
	return c
}

// add records one consumed value.
func (c *consumed) add(v string) {
	c.seen = append(c.seen, v)
	delete(c.want, v)
	if c.forbidden[v] {
		c.bad = append(c.bad, v)
	}
}

// done reports whether every wanted value has been seen.
func (c *consumed) done() bool { return len(c.want) == 0 }

// err explains what is wrong with what was consumed, after ctx ended or
// the consumer finished.
func (c *consumed) err(ctx context.Context) error {
	if len(c.bad) > 0 {
		return fmt.Errorf("consumed %q again: the group's committed offset was not used", c.bad)
	}
	if !c.done() {
		missing := make([]string, 0, len(c.want))
		for v := range c.want {
			missing = append(missing, v)
		}
		slices.Sort(missing)
		return errors.Join(fmt.Errorf("consumed %d records, still missing %q", len(c.seen), missing), ctx.Err())
	}
	return nil
}

// summary is the detail of a successful consumer step.
func (c *consumed) summary() string {
	return fmt.Sprintf("%d records consumed, offsets committed", len(c.seen))
}

// acked is the detail of a successful produce step.
func acked(values []string) string { return fmt.Sprintf("%d records acknowledged", len(values)) }

// refused turns the outcome of producing to the denied topic into a step
// result: the client's error is the expected outcome.
func refused(err error) (string, error) {
	if err == nil {
		return "", errors.New("the records to the denied topic were acknowledged")
	}
	return err.Error(), nil
}

// moduleVersion is the version of module path in this binary's build
// information or, where that lists no modules (test binaries), the one
// `go list -m` selects for this module.
func moduleVersion(path string) (string, error) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == path {
				if m.Replace != nil {
					return m.Replace.Version, nil
				}
				return m.Version, nil
			}
		}
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}", path).Output()
	if err != nil {
		return "", fmt.Errorf("version of module %s: %w", path, err)
	}
	return strings.TrimSpace(string(out)), nil
}
