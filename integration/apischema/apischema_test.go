//go:build integration

// Package apischema fuzzes the admin API with schemathesis, driven by the
// API's own OpenAPI document (/openapi.json), against a real process: the
// binary built from this tree, running `dev` (an embedded in-memory broker
// and the admin API, with an OrganizationAdmin cloud key).
//
// TestAdminAPISchema runs three schemathesis passes and a few requests of
// its own:
//
//   - authenticated: every operation but DELETE /iam/v2/api-keys/{id}, with
//     the dev cloud key. schemathesis learns ids from the answers and would
//     delete the very key it calls with, leaving the rest of the pass
//     answered 401 (and, past authentication.max_failures_per_source, 429).
//     The pass must see no 401 or 429 at all, and the key must still work
//     after it. Some parameters are drawn, part of the time, from
//     dictionaries of values this instance holds (see knownValues), so that
//     creates and filtered lists succeed and their answers are checked too.
//   - delete-api-key: DELETE /iam/v2/api-keys/{id} alone, its id drawn half
//     of the time from spare keys the test creates (so that deletions
//     succeed too). The credential is sent as an Authorization header
//     rather than with --auth: schemathesis tries the --auth user name as a
//     path id, which would delete the caller's own key first.
//   - unauthenticated: every operation with no credentials. Besides
//     schemathesis's checks, every request to an operation that needs
//     authentication must be answered 401 with a WWW-Authenticate header
//     (read from the pass's HAR report); a method a path does not serve, 405.
//   - bad-credentials: a wrong secret, an unknown key, malformed Basic, a
//     bogus Bearer token and an unknown scheme are each answered 401, and
//     the dev key still works afterwards. These are few on purpose: past 30
//     failed logins a minute from one address the proxy refuses even good
//     credentials (429), which is also why schemathesis's ignored_auth
//     check, which sends invalid credentials for every operation, is not
//     used.
//
// Every pass runs the checks not_a_server_error, status_code_conformance,
// content_type_conformance, response_schema_conformance and
// response_headers_conformance, in all phases, with a fixed seed, and the
// test fails, printing schemathesis's report, when schemathesis exits
// non-zero. KAP_APISCHEMA_SEED and KAP_APISCHEMA_MAX_EXAMPLES (test cases
// per operation and phase) override the defaults.
//
// schemathesis runs from a virtual environment made once from
// requirements.txt beside this file, under
// ~/.cache/kafka-auth-proxy/venv-schemathesis-<hash> (the hash covers the
// requirements file and the Python interpreter); creating it needs Python 3
// with venv and pip, and PyPI.
package apischema

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/clients"
)

const (
	// defaultMaxExamples keeps the whole test near a minute on 2 cores.
	defaultMaxExamples = 100
	defaultSeed        = 20261201

	checks = "not_a_server_error,status_code_conformance,content_type_conformance," +
		"response_schema_conformance,response_headers_conformance"
	phases = "examples,coverage,fuzzing,stateful"

	// modulePath names the module whose root the binary is built in.
	modulePath = "github.com/kafka-auth-proxy/kafka-auth-proxy"
	// metricsAddr is where `dev` serves /metrics when it has no flag to
	// move it.
	metricsAddr = "127.0.0.1:9404"
)

func TestAdminAPISchema(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testBudget(t))
	defer cancel()
	begin := time.Now()

	maxExamples := envInt(t, "KAP_APISCHEMA_MAX_EXAMPLES", defaultMaxExamples)
	seed := envInt(t, "KAP_APISCHEMA_SEED", defaultSeed)

	st, err := schemathesisCommand(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("schemathesis ready in %v (%s)", time.Since(begin).Round(time.Millisecond), st)

	root := moduleRoot(t)
	bin := buildProxy(t, ctx, root)
	dev := startDev(t, ctx, bin)
	spec := fetchSpec(t, dev)
	t.Logf("dev admin API at %s, %d operations; seed %d, max examples %d", dev.adminURL, len(spec), seed, maxExamples)

	r := &runner{st: st, dev: dev, spec: spec, seed: seed}

	t.Run("authenticated", func(t *testing.T) {
		entries := r.pass(t, ctx, "authenticated", dev.knownValues(t), maxExamples,
			"--auth", dev.key+":"+dev.secret, "--exclude-operation-id", "deleteAPIKey")
		r.expectAuthenticated(t, entries)
		dev.expectKeyWorks(t)
	})

	t.Run("delete-api-key", func(t *testing.T) {
		dev.expectKeyWorks(t)
		spares := dev.spareKeys(t, 3)
		config := fmt.Sprintf(`[dictionaries.spare_keys]
values = [%s]

[[operations]]
include-operation-id = "deleteAPIKey"
parameters = { "path.id" = { dictionary = "spare_keys", probability = 0.5 } }
`, quoteAll(spares))
		entries := r.pass(t, ctx, "delete-api-key", config, maxExamples,
			"-H", "Authorization: "+dev.basic(), "--include-operation-id", "deleteAPIKey")
		r.expectAuthenticated(t, entries)
		deleted := 0
		for _, e := range entries {
			if e.Request.Method == http.MethodDelete && e.Response.Status == http.StatusNoContent {
				deleted++
			}
		}
		t.Logf("%d of %d spare keys deleted", deleted, len(spares))
		dev.expectKeyWorks(t)
	})

	t.Run("unauthenticated", func(t *testing.T) {
		// Every request but those to the three public operations is
		// refused before its input is read, so fewer cases do.
		entries := r.pass(t, ctx, "unauthenticated", "", max(10, maxExamples/5),
			"--generation-with-security-parameters", "false")
		r.expectUnauthenticated(t, entries)
	})

	t.Run("bad-credentials", func(t *testing.T) {
		dev.expectBadCredentialsRefused(t)
		dev.expectKeyWorks(t)
	})
	t.Logf("TestAdminAPISchema took %v", time.Since(begin).Round(time.Millisecond))
}

// testBudget is the time the test gives itself: what -timeout leaves, less
// a margin to report, at most 20 minutes.
func testBudget(t *testing.T) time.Duration {
	budget := 20 * time.Minute
	if d, ok := t.Deadline(); ok {
		if left := time.Until(d) - 30*time.Second; left < budget {
			budget = left
		}
	}
	return budget
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// runner runs schemathesis passes against one dev process.
type runner struct {
	st   string
	dev  *devProc
	spec []operation
	seed int
}

// pass runs one schemathesis pass of at most examples test cases per
// operation and phase, with the common options, args and, if config is not
// empty, that schemathesis.toml, and returns the requests of its HAR
// report. A non-zero exit fails t with schemathesis's report.
func (r *runner) pass(t *testing.T, ctx context.Context, name, config string, examples int, args ...string) []harEntry {
	t.Helper()
	// The pass's folder (its config, HAR report and schemathesis's own
	// store in .schemathesis) is kept when the test fails.
	dir, err := os.MkdirTemp("", "apischema-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s pass: its config, HAR report and schemathesis's store are kept in %s", name, dir)
			return
		}
		os.RemoveAll(dir)
	})
	// An explicit config file, even an empty one, keeps schemathesis from
	// picking up a schemathesis.toml or pyproject.toml around the run.
	cfgPath := filepath.Join(dir, "schemathesis.toml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	harPath := filepath.Join(dir, name+".har")
	argv := []string{"--config-file", cfgPath, "run", r.dev.adminURL + "/openapi.json",
		"--checks", checks,
		"--phases", phases,
		"--max-examples", strconv.Itoa(examples),
		"--seed", strconv.Itoa(r.seed),
		"--workers", "1",
		// No example database: a run depends on the seed alone.
		"--generation-database", "none",
		// Hypothesis's too_slow health check measures the generator, not
		// the API, and trips on a machine busy with other tests.
		"--suppress-health-check", "too_slow",
		"--request-timeout", "30",
		"--no-color",
		"--report", "har", "--report-har-path", harPath,
	}
	argv = append(argv, args...)
	cmd := exec.CommandContext(ctx, r.st, argv...)
	cmd.Dir = dir
	cmd.Env = schemathesisEnv()
	clients.SetProcessGroup(cmd)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start).Round(time.Millisecond)
	report := strings.TrimSpace(string(out))
	t.Logf("%s pass: %s in %v", name, summary(report), took)
	if err != nil {
		t.Errorf("schemathesis, %s pass, failed (%v) after %v; run it again with:\n  %s %s\n\n%s",
			name, err, took, r.st, redact(argv, r.dev), report)
	}
	entries, herr := readHAR(harPath)
	if herr != nil {
		t.Fatalf("%s pass: %v", name, herr)
	}
	if len(entries) == 0 {
		t.Fatalf("%s pass sent no request", name)
	}
	return entries
}

// expectAuthenticated fails t if a request of a pass made with the dev key
// was refused for its credentials: the key is valid, so a 401 or 429 means
// the pass lost its credentials and tested nothing after.
func (r *runner) expectAuthenticated(t *testing.T, entries []harEntry) {
	t.Helper()
	var bad []string
	statuses := map[int]int{}
	for i, e := range entries {
		statuses[e.Response.Status]++
		if s := e.Response.Status; s == http.StatusUnauthorized || s == http.StatusTooManyRequests {
			bad = append(bad, fmt.Sprintf("request %d: %s %s -> %d", i+1, e.Request.Method, e.Request.URL, s))
		}
	}
	t.Logf("%d requests, by status: %s", len(entries), formatCounts(statuses))
	if len(bad) > 0 {
		t.Errorf("%d requests made with a valid key were refused for their credentials; the first:\n  %s",
			len(bad), strings.Join(bad[:min(len(bad), 10)], "\n  "))
	}
}

// expectUnauthenticated checks the requests of the pass without
// credentials: none carries an Authorization header, every request to an
// operation that needs authentication is answered 401 with a
// WWW-Authenticate header, a method that a documented path does not serve
// 405, and no request 5xx.
func (r *runner) expectUnauthenticated(t *testing.T, entries []harEntry) {
	t.Helper()
	var bad []string
	statuses := map[string]int{}
	for i, e := range entries {
		status := e.Response.Status
		op, pathKnown, err := r.match(e.Request.Method, e.Request.URL)
		if err != nil {
			bad = append(bad, fmt.Sprintf("request %d: %v", i+1, err))
			continue
		}
		var want []int
		switch {
		case op != nil && op.public:
			statuses["public "+strconv.Itoa(status)]++
		case op != nil:
			statuses["protected "+strconv.Itoa(status)]++
			want = []int{http.StatusUnauthorized}
			if status == http.StatusUnauthorized && e.Response.header("WWW-Authenticate") == "" {
				bad = append(bad, fmt.Sprintf("request %d: %s %s -> 401 without WWW-Authenticate", i+1, e.Request.Method, e.Request.URL))
			}
		case pathKnown:
			statuses["unserved method "+strconv.Itoa(status)]++
			want = []int{http.StatusMethodNotAllowed}
		default:
			// A path no route serves (a generated path parameter that is
			// empty, say): not found, or the mux's redirect to the clean
			// path.
			statuses["unknown path "+strconv.Itoa(status)]++
			want = []int{http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusMovedPermanently, http.StatusPermanentRedirect}
		}
		if e.requestHeader("Authorization") != "" {
			bad = append(bad, fmt.Sprintf("request %d: %s %s carries credentials", i+1, e.Request.Method, e.Request.URL))
		}
		if status >= 500 || (want != nil && !slices.Contains(want, status)) {
			bad = append(bad, fmt.Sprintf("request %d: %s %s -> %d, want %v", i+1, e.Request.Method, e.Request.URL, status, want))
		}
	}
	t.Logf("%d requests without credentials: %s", len(entries), formatCounts(statuses))
	if statuses["protected 401"] == 0 {
		t.Errorf("no request without credentials reached an operation that needs them")
	}
	if len(bad) > 0 {
		t.Errorf("%d requests without credentials were answered wrongly; the first:\n  %s",
			len(bad), strings.Join(bad[:min(len(bad), 20)], "\n  "))
	}
}

// operation is one operation of the OpenAPI document.
type operation struct {
	method string
	path   string   // the template, such as /iam/v2/users/{id}
	segs   []string // path split at "/"
	public bool     // its security is empty: no credentials needed
}

// match finds the operation of a request: op is nil when none serves the
// method, pathKnown tells whether an operation has the path.
func (r *runner) match(method, rawURL string) (op *operation, pathKnown bool, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, false, fmt.Errorf("parse %q: %w", rawURL, err)
	}
	segs := strings.Split(u.EscapedPath(), "/")
	for i := range r.spec {
		o := &r.spec[i]
		if !segmentsMatch(o.segs, segs) {
			continue
		}
		pathKnown = true
		if o.method == method {
			return o, true, nil
		}
	}
	return nil, pathKnown, nil
}

func segmentsMatch(tmpl, segs []string) bool {
	if len(tmpl) != len(segs) {
		return false
	}
	for i, s := range tmpl {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			if segs[i] == "" {
				return false
			}
			continue
		}
		if s != segs[i] {
			return false
		}
	}
	return true
}

// fetchSpec reads the operations of the served OpenAPI document.
func fetchSpec(t *testing.T, dev *devProc) []operation {
	t.Helper()
	resp, err := http.Get(dev.adminURL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %s", resp.Status)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("decode /openapi.json: %v", err)
	}
	methods := []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	var ops []operation
	for path, item := range doc.Paths {
		for m, raw := range item {
			if !slices.Contains(methods, m) {
				continue
			}
			var o struct {
				Security *[]json.RawMessage `json:"security"`
			}
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatalf("decode %s %s: %v", m, path, err)
			}
			ops = append(ops, operation{method: strings.ToUpper(m), path: path, segs: strings.Split(path, "/"),
				public: o.Security != nil && len(*o.Security) == 0})
		}
	}
	if len(ops) == 0 {
		t.Fatal("/openapi.json has no operation")
	}
	return ops
}

// harEntry is one request of a HAR report, with what the test reads.
type harEntry struct {
	Request struct {
		Method  string      `json:"method"`
		URL     string      `json:"url"`
		Headers []harHeader `json:"headers"`
	} `json:"request"`
	Response harResponse `json:"response"`
}

type harResponse struct {
	Status  int         `json:"status"`
	Headers []harHeader `json:"headers"`
}

type harHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func headerOf(hs []harHeader, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

func (r harResponse) header(name string) string { return headerOf(r.Headers, name) }

// header of a request; schemathesis writes the value of Authorization as
// "[Filtered]", which is not empty.
func (e harEntry) requestHeader(name string) string { return headerOf(e.Request.Headers, name) }

func readHAR(path string) ([]harEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the HAR report: %w", err)
	}
	var har struct {
		Log struct {
			Entries []harEntry `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(data, &har); err != nil {
		return nil, fmt.Errorf("decode the HAR report %s: %w", path, err)
	}
	return har.Log.Entries, nil
}

// summary picks the count of test cases and the closing line out of a
// schemathesis report.
func summary(report string) string {
	var parts []string
	lines := strings.Split(report, "\n")
	for _, l := range lines {
		if l = strings.TrimSpace(l); strings.Contains(l, " generated, ") {
			parts = append(parts, l)
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "===") {
			parts = append(parts, strings.TrimSpace(strings.Trim(l, "=")))
			break
		}
	}
	if len(parts) == 0 {
		return "no summary"
	}
	return strings.Join(parts, "; ")
}

func formatCounts[K comparable](m map[K]int) string {
	var parts []string
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%v: %d", k, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// redact returns argv as a shell line with the dev secret replaced.
func redact(argv []string, dev *devProc) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		a = strings.ReplaceAll(a, dev.basic(), "Basic $CREDENTIALS")
		a = strings.ReplaceAll(a, dev.secret, "$SECRET")
		if strings.ContainsAny(a, " \"'$*[]{}") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// moduleRoot finds the root of this module from the working directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && regexp.MustCompile(`(?m)^module\s+`+regexp.QuoteMeta(modulePath)+`\s*$`).Match(data) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod of module %s above the working directory", modulePath)
		}
		dir = parent
	}
}

// buildProxy builds the binary into the test's temporary directory.
func buildProxy(t *testing.T, ctx context.Context, root string) string {
	t.Helper()
	start := time.Now()
	bin := filepath.Join(t.TempDir(), "kafka-auth-proxy")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/kafka-auth-proxy")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// devProc is a running `kafka-auth-proxy dev`.
type devProc struct {
	adminURL    string
	key, secret string // the OrganizationAdmin's cloud API key
	out         *syncBuffer
}

func (d *devProc) basic() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(d.key+":"+d.secret))
}

var (
	adminLineRE = regexp.MustCompile(`Admin API:\s+(http://\S+) \(cloud API key (\S+)\)`)
	loginLineRE = regexp.MustCompile(`login --url \S+ --api-key (\S+) --api-secret (\S+)`)
)

// startDev runs `bin dev` on free ports until its admin API is ready, and
// stops it when t ends.
func startDev(t *testing.T, ctx context.Context, bin string) *devProc {
	t.Helper()
	help, err := exec.CommandContext(ctx, bin, "dev", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%s dev --help: %v\n%s", bin, err, help)
	}
	movableMetrics := strings.Contains(string(help), "--metrics-listen")
	if !movableMetrics {
		t.Logf("`dev` has no --metrics-listen flag: it serves metrics on %s, which must be free", metricsAddr)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for attempt := 1; ; attempt++ {
		if !movableMetrics {
			waitFree(t, ctx, metricsAddr, deadline)
		}
		d, retry, err := tryStartDev(t, ctx, bin, movableMetrics)
		if err == nil {
			return d
		}
		if !retry || attempt >= 20 || time.Now().After(deadline) {
			t.Fatalf("start %s dev (attempt %d): %v", bin, attempt, err)
		}
		t.Logf("start dev, attempt %d: %v; trying again", attempt, err)
		time.Sleep(time.Second)
	}
}

// waitFree waits until addr can be listened on.
func waitFree(t *testing.T, ctx context.Context, addr string, deadline time.Time) {
	t.Helper()
	for logged := false; ; {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			l.Close()
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s stays in use (%v), and `dev` cannot serve metrics elsewhere", addr, err)
		}
		if !logged {
			t.Logf("%s is in use (%v); waiting for it to be free", addr, err)
			logged = true
		}
		time.Sleep(2 * time.Second)
	}
}

// tryStartDev starts dev once; retry tells whether a failure was a port
// taken meanwhile.
func tryStartDev(t *testing.T, ctx context.Context, bin string, movableMetrics bool) (d *devProc, retry bool, err error) {
	listen, err := freePortPair()
	if err != nil {
		return nil, false, err
	}
	admin, err := freePort()
	if err != nil {
		return nil, false, err
	}
	args := []string{"dev", "--listen", listen, "--admin-listen", admin}
	if movableMetrics {
		m, err := freePort()
		if err != nil {
			return nil, false, err
		}
		args = append(args, "--metrics-listen", m)
	}
	out := &syncBuffer{}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	clients.SetProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, false, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) //nolint:errcheck // it may be gone
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // it may be gone
			<-exited
		}
	}

	d = &devProc{adminURL: "http://" + admin, out: out}
	client := &http.Client{Timeout: 2 * time.Second}
	ready := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			text := out.String()
			return nil, strings.Contains(text, "address already in use"),
				fmt.Errorf("dev exited (%v):\n%s", err, text)
		case <-ctx.Done():
			stop()
			return nil, false, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		text := out.String()
		if d.key == "" {
			if m := adminLineRE.FindStringSubmatch(text); m != nil {
				if l := loginLineRE.FindStringSubmatch(text); l != nil && l[1] == m[2] {
					if m[1] != d.adminURL {
						stop()
						return nil, false, fmt.Errorf("dev serves the admin API at %s, not %s", m[1], d.adminURL)
					}
					d.key, d.secret = l[1], l[2]
				}
			}
		}
		if d.key != "" {
			if resp, err := client.Get(d.adminURL + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
		}
		if time.Now().After(ready) {
			stop()
			return nil, false, fmt.Errorf("dev not ready in 60s (admin key parsed: %t):\n%s", d.key != "", text)
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("output of dev (the last lines):\n%s", tail(out.String(), 60))
		}
	})
	return d, false, nil
}

// freePort returns a loopback address free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// freePortPair returns a loopback address whose port and the next are
// free: dev serves its broker on the port after the bootstrap's.
func freePortPair() (string, error) {
	for range 50 {
		addr, err := freePort()
		if err != nil {
			return "", err
		}
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		if port >= 65535 {
			continue
		}
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1))); err == nil {
			l.Close()
			return addr, nil
		}
	}
	return "", errors.New("no two free consecutive ports on 127.0.0.1")
}

// call sends one request to the admin API with the dev key (or the given
// Authorization header, when auth is not empty).
func (d *devProc) call(t *testing.T, method, path, auth string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, d.adminURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth == "" {
		auth = d.basic()
	}
	req.Header.Set("Authorization", auth)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, data
}

// expectKeyWorks fails t now if the dev key no longer lets its holder in.
func (d *devProc) expectKeyWorks(t *testing.T) {
	t.Helper()
	if code, _, body := d.call(t, http.MethodGet, "/iam/v2/service-accounts", "", nil); code != http.StatusOK {
		t.Fatalf("the dev cloud key no longer works: GET /iam/v2/service-accounts -> %d %s", code, body)
	}
}

// knownValues returns a schemathesis.toml that draws some path, query and
// body values from dictionaries of what this dev instance holds: its
// cluster and environment ids, the admin's account, the role names, CRNs
// of its scopes and the ACL enums. Random strings are refused with a 400 or
// 404 almost always, so that without them the creates of role bindings and
// ACLs, and the ACL lists, would never succeed and their answers would
// never be checked.
func (d *devProc) knownValues(t *testing.T) string {
	t.Helper()
	type object struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Metadata struct {
			ResourceName string `json:"resource_name"`
		} `json:"metadata"`
		Principal string `json:"principal"`
	}
	list := func(path string) []object {
		code, _, body := d.call(t, http.MethodGet, path, "", nil)
		var l struct {
			Data []object `json:"data"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &l) != nil || len(l.Data) == 0 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		return l.Data
	}
	var clusters, envs, accounts, roles, crns []string
	for _, o := range list("/org/v2/organizations") {
		crns = append(crns, o.Metadata.ResourceName)
	}
	for _, o := range list("/org/v2/environments") {
		envs = append(envs, o.ID)
		crns = append(crns, o.Metadata.ResourceName)
	}
	for _, o := range list("/cmk/v2/clusters") {
		clusters = append(clusters, o.ID)
		kafka := o.Metadata.ResourceName + "/kafka=" + o.ID
		crns = append(crns, o.Metadata.ResourceName, kafka+"/topic=demo", kafka+"/topic=orders-*", kafka+"/group=g*")
	}
	for _, o := range list("/iam/v2/roles?page_size=100") {
		roles = append(roles, o.Name)
	}
	for _, o := range list("/iam/v2/role-bindings?role_name=OrganizationAdmin") {
		accounts = append(accounts, strings.TrimPrefix(o.Principal, "User:"))
	}
	principals := []string{"User:*"}
	for _, a := range accounts {
		principals = append(principals, "User:"+a)
	}
	dicts := []struct {
		name   string
		values []string
		params []string // where the values go
	}{
		{"clusters", clusters, []string{"path.cluster_id", "body.spec.resource.id"}},
		{"environments", envs, []string{"query.environment"}},
		{"accounts", accounts, []string{"body.spec.owner.id", "query.spec.owner"}},
		{"principals", principals, []string{"body.principal", "query.principal"}},
		{"roles", roles, []string{"body.role_name", "query.role_name"}},
		{"crns", crns, []string{"body.crn_pattern", "query.crn_pattern"}},
		{"resource_types", []string{"TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID"}, []string{"body.resource_type", "query.resource_type"}},
		{"acl_operations", []string{"ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE",
			"CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE"}, []string{"body.operation", "query.operation"}},
		{"pattern_types", []string{"LITERAL", "PREFIXED"}, []string{"body.pattern_type", "query.pattern_type"}},
		{"permissions", []string{"ALLOW", "DENY"}, []string{"body.permission", "query.permission"}},
		{"emails", []string{"alice@example.com", "bob@example.org"}, []string{"body.email"}},
	}
	var b strings.Builder
	for _, dict := range dicts {
		fmt.Fprintf(&b, "[dictionaries.%s]\nvalues = [%s]\n\n", dict.name, quoteAll(dict.values))
	}
	b.WriteString("[parameters]\n")
	for _, dict := range dicts {
		for _, p := range dict.params {
			fmt.Fprintf(&b, "%q = { dictionary = %q, probability = 0.7 }\n", p, dict.name)
		}
	}
	return b.String()
}

// spareKeys creates a service account with n cloud API keys, for a pass to
// delete, and returns their ids.
func (d *devProc) spareKeys(t *testing.T, n int) []string {
	t.Helper()
	code, _, body := d.call(t, http.MethodPost, "/iam/v2/service-accounts", "",
		map[string]string{"display_name": "apischema-spares", "description": "keys for schemathesis to delete"})
	var sa struct {
		ID string `json:"id"`
	}
	if code != http.StatusCreated || json.Unmarshal(body, &sa) != nil || sa.ID == "" {
		t.Fatalf("create a service account: %d %s", code, body)
	}
	var ids []string
	for i := range n {
		req := map[string]any{"spec": map[string]any{
			"display_name": fmt.Sprintf("spare-%d", i+1),
			"owner":        map[string]string{"id": sa.ID},
			"resource":     map[string]string{"id": "cloud"},
		}}
		code, _, body := d.call(t, http.MethodPost, "/iam/v2/api-keys", "", req)
		var k struct {
			ID string `json:"id"`
		}
		if code != http.StatusCreated || json.Unmarshal(body, &k) != nil || k.ID == "" {
			t.Fatalf("create an API key: %d %s", code, body)
		}
		ids = append(ids, k.ID)
	}
	return ids
}

// expectBadCredentialsRefused sends a few requests with wrong credentials:
// each must be a 401 with WWW-Authenticate and a JSON error body.
func (d *devProc) expectBadCredentialsRefused(t *testing.T) {
	t.Helper()
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct{ name, auth string }{
		{"wrong secret", basic(d.key + ":" + strings.Repeat("x", len(d.secret)))},
		{"unknown key", basic("AAAAAAAAAAAAAAAA:" + d.secret)},
		{"Basic not base64", "Basic !!!"},
		{"Bearer not a JWT", "Bearer not-a-token"},
		{"unknown scheme", "Digest username=\"" + d.key + "\""},
	}
	for _, c := range cases {
		code, h, body := d.call(t, http.MethodGet, "/iam/v2/service-accounts", c.auth, nil)
		var e struct {
			Errors []struct {
				Status string `json:"status"`
			} `json:"errors"`
		}
		switch {
		case code != http.StatusUnauthorized:
			t.Errorf("%s: %d %s, want 401", c.name, code, body)
		case h.Get("WWW-Authenticate") == "":
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		case !strings.HasPrefix(h.Get("Content-Type"), "application/json") || json.Unmarshal(body, &e) != nil ||
			len(e.Errors) == 0 || e.Errors[0].Status != "401":
			t.Errorf("%s: 401 with body %q (%s), want a JSON error", c.name, body, h.Get("Content-Type"))
		}
	}
}

// syncBuffer collects a process's output for reading while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// schemathesisEnv is the environment of st: the caller's, without
// SCHEMATHESIS_* variables (hooks, a base URL) that would change the run.
func schemathesisEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SCHEMATHESIS_") {
			env = append(env, kv)
		}
	}
	return append(env, "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
}

// schemathesisCommand returns the st of the venv for requirements.txt
// (clients.MakeVenv).
func schemathesisCommand(ctx context.Context) (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("apischema: cannot locate the package source folder")
	}
	dir, err := clients.MakeVenv(ctx, "venv-schemathesis", filepath.Join(filepath.Dir(file), "requirements.txt"),
		schemathesisEnv(), "bin/st", "--version")
	if err != nil {
		return "", fmt.Errorf("apischema: %w", err)
	}
	return filepath.Join(dir, "bin", "st"), nil
}
