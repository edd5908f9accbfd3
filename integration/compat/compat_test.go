//go:build integration

package compat_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/clients"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/compat"
)

// resultsEnv names the file the run's results are written to; by default
// last-run.json in this folder, which `make compat` renders.
const resultsEnv = "KAP_COMPAT_RESULTS"

// knownIssue is why a cell is expected to fail, and the words its failure
// must contain: a cell that fails for another reason still fails the test.
type knownIssue struct {
	reason   string
	errorHas string
}

// knownIssues lists the cells expected to fail, by "client/MECHANISM/step"
// or, for every step of a combination, "client/MECHANISM". A listed cell
// that passes fails the test, so the list stays true.
var knownIssues = map[string]knownIssue{
	"kcat/OAUTHBEARER": {
		reason: "Debian 12's librdkafka (2.0.2) is built without libcurl, so it cannot fetch OIDC tokens " +
			"(sasl.oauthbearer.method=oidc is refused), and kcat has no way to take a token from the application. " +
			"A librdkafka built with libcurl does: see confluent-kafka's rows, whose librdkafka logs in the same way.",
		errorHas: "OAuth/OIDC depends on libcurl",
	},
}

// lookupKnownIssue returns the known issue of a step of a combination, if
// there is one.
func lookupKnownIssue(client string, mech compat.Mechanism, step compat.Step) (knownIssue, bool) {
	if k, ok := knownIssues[fmt.Sprintf("%s/%s/%s", client, mech, step)]; ok {
		return k, true
	}
	k, ok := knownIssues[fmt.Sprintf("%s/%s", client, mech)]
	return k, ok
}

var (
	envOnce sync.Once
	env     *target
	envErr  error

	resultsMu sync.Mutex
	results   compat.Results
)

func TestMain(m *testing.M) {
	code := m.Run()
	if env != nil {
		if err := env.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop the compatibility set-up:", err)
		}
	}
	if len(results.Rows) > 0 {
		path := os.Getenv(resultsEnv)
		if path == "" {
			path = "last-run.json"
		}
		results.Finished = time.Now().UTC()
		if err := compat.WriteResults(path, results); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		} else {
			fmt.Fprintf(os.Stderr, "compatibility results written to %s\n", path)
		}
	}
	os.Exit(code)
}

// theTarget starts the set-up on first use.
func theTarget(t *testing.T) *target {
	t.Helper()
	envOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		begin := time.Now()
		env, envErr = startTarget(ctx)
		if envErr == nil {
			t.Logf("%s ready in %v", env.name, time.Since(begin).Round(time.Millisecond))
			resultsMu.Lock()
			results.Target, results.Kafka, results.OIDCProvider, results.Proxy = env.name, env.kafka, env.oidcProvider, proxyVersion()
			resultsMu.Unlock()
		}
	})
	if envErr != nil {
		t.Fatal(envErr)
	}
	return env
}

// startTarget starts the local set-up, or targets the docker compose
// stack when KAP_COMPAT_TARGET=compose.
func startTarget(ctx context.Context) (*target, error) {
	switch v := os.Getenv(targetEnv); v {
	case "", "local":
		return startLocal(ctx)
	case "compose":
		return composeTarget(ctx)
	default:
		return nil, fmt.Errorf("%s=%q: want local or compose", targetEnv, v)
	}
}

// proxyVersion describes the tested tree.
func proxyVersion() string {
	out, err := exec.Command("git", "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		return "(unknown version)"
	}
	return strings.TrimSpace(string(out))
}

// TestCompatibility runs every client of compat.Clients with SASL/PLAIN and
// SASL/OAUTHBEARER through the proxy; see package compat for the steps.
// Each step is a subtest: TestCompatibility/<client>/<mechanism>/<step>.
func TestCompatibility(t *testing.T) {
	tg := theTarget(t)
	for _, c := range compat.Clients() {
		t.Run(c.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			version, err := c.Runner.Version(ctx)
			if err != nil {
				t.Fatalf("%s: cannot prepare the client: %v", c.Name, err)
			}
			for _, mech := range []compat.Mechanism{compat.Plain, compat.OAuthBearer} {
				t.Run(string(mech), func(t *testing.T) {
					row := runCombination(ctx, t, tg, c, mech)
					row.Version = version
					judge(t, &row)
					resultsMu.Lock()
					results.Rows = append(results.Rows, row)
					resultsMu.Unlock()
				})
			}
		})
	}
}

// records are the values each step produces.
func records(prefix string, n int) []string {
	v := make([]string, n)
	for i := range v {
		v[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return v
}

// runCombination runs the two processes of one client with one mechanism
// and checks what they claim with the test's own client.
func runCombination(ctx context.Context, t *testing.T, tg *target, c compat.Client, mech compat.Mechanism) compat.Row {
	row := compat.Row{Client: c.Name, Description: c.Description, Mechanism: mech}
	base := fmt.Sprintf("%s%s-%s-%s", tg.prefix, c.Name, strings.ToLower(string(mech)), randomSuffix())
	p := compat.Plan{
		Bootstrap:       tg.bootstrap,
		Mechanism:       mech,
		Topic:           base,
		TxTopic:         base + "-tx",
		DeniedTopic:     tg.deniedPrefix + base,
		Group:           base + "-group",
		TransactionalID: base + "-txn",
		Records: map[compat.Step][]string{
			compat.StepProduce:     records("produce", 5),
			compat.StepResume:      records("resume", 5),
			compat.StepDenied:      records("denied", 1),
			compat.StepIdempotent:  records("idempotent", 5),
			compat.StepTransaction: records("txn", 3),
		},
		AbortedRecords: records("aborted", 1),
		StepTimeoutMs:  30000,
	}
	switch {
	case mech == compat.Plain:
		p.Username, p.Password = tg.apiKey, tg.apiSecret
		row.Login = "API key"
	case c.OIDC:
		p.TokenEndpoint, p.ClientID, p.ClientSecret = tg.tokenEndpoint, tg.clientID, tg.clientSecret
		row.Login = "its own OIDC support (client credentials)"
	default:
		tok, _, err := clients.ClientCredentialsToken(ctx, tg.tokenEndpoint, tg.clientID, tg.clientSecret)
		if err != nil {
			t.Fatalf("fetch a token for %s: %v", c.Name, err)
		}
		p.Token = tok
		row.Login = "token fetched by the application"
	}
	v := newVerifier(t, tg)
	topics := []string{p.Topic, p.TxTopic}
	if tg.createDenied {
		topics = append(topics, p.DeniedTopic)
	}
	v.createTopics(ctx, topics...)

	got := map[compat.Step]compat.Result{}
	run := func(phase string, steps []compat.Step) {
		var todo []compat.Step
		for _, s := range steps {
			if reason, ok := c.Unsupported[s]; ok {
				got[s] = compat.Result{Step: s, Outcome: compat.Unsupported, Detail: reason}
				continue
			}
			todo = append(todo, s)
		}
		if len(todo) == 0 {
			return
		}
		p.Steps = todo
		rctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
		defer cancel()
		out, res, err := c.Runner.Run(rctx, p)
		t.Logf("%s %s, %s process:\n%s", c.Name, mech, phase, indent(out))
		if err != nil {
			for _, s := range todo {
				got[s] = compat.Result{Step: s, Outcome: compat.Failed, Detail: "the client did not run: " + err.Error()}
			}
			return
		}
		for _, r := range res {
			if r.Outcome == compat.Unsupported {
				r.Outcome, r.Detail = compat.Failed, "reported unsupported, which the matrix does not declare: "+r.Detail
			}
			got[r.Step] = r
		}
		for _, s := range todo {
			if _, ok := got[s]; !ok {
				got[s] = compat.Result{Step: s, Outcome: compat.Skipped, Detail: "the client reported nothing for this step"}
			}
		}
	}
	// First process: everything but resume.
	run("first", []compat.Step{compat.StepProduce, compat.StepConsume, compat.StepDenied, compat.StepIdempotent, compat.StepTransaction})
	check := func(s compat.Step, f func() error) {
		if r := got[s]; r.Outcome == compat.OK {
			if err := f(); err != nil {
				got[s] = compat.Result{Step: s, Outcome: compat.Failed, Detail: "the client reported success (" + r.Detail + "), but " + err.Error()}
			}
		}
	}
	produced := p.Records[compat.StepProduce]
	check(compat.StepConsume, func() error { return v.committed(ctx, p.Group, p.Topic, len(produced)) })
	// Second process: resume from the committed offset.
	run("second", []compat.Step{compat.StepResume})

	all, allErr := v.read(ctx, p.Topic, false)
	txCommitted, txErr := v.read(ctx, p.TxTopic, true)
	check(compat.StepProduce, func() error { return containsAll(all, allErr, produced, false) })
	check(compat.StepResume, func() error {
		if err := containsAll(all, allErr, p.Records[compat.StepResume], false); err != nil {
			return err
		}
		return v.committed(ctx, p.Group, p.Topic, len(produced)+len(p.Records[compat.StepResume]))
	})
	check(compat.StepDenied, func() error {
		if !strings.Contains(strings.ToLower(got[compat.StepDenied].Detail), "authoriz") {
			return fmt.Errorf("the error does not say the client is not authorized")
		}
		if tg.createDenied {
			denied, err := v.read(ctx, p.DeniedTopic, false)
			if err != nil {
				return err
			}
			if len(denied) > 0 {
				return fmt.Errorf("%d records reached the denied topic", len(denied))
			}
		}
		return nil
	})
	check(compat.StepIdempotent, func() error { return containsAll(txCommitted, txErr, p.Records[compat.StepIdempotent], true) })
	check(compat.StepTransaction, func() error {
		if err := containsAll(txCommitted, txErr, p.Records[compat.StepTransaction], true); err != nil {
			return fmt.Errorf("read_committed: %w", err)
		}
		for _, a := range p.AbortedRecords {
			if slices.Contains(txCommitted, a) {
				return fmt.Errorf("read_committed consumer sees the aborted record %q", a)
			}
		}
		uncommitted, err := v.read(ctx, p.TxTopic, false)
		if err := containsAll(uncommitted, err, p.AbortedRecords, false); err != nil {
			return fmt.Errorf("the aborted transaction never reached the broker: %w", err)
		}
		return nil
	})
	for _, s := range compat.Steps {
		row.Results = append(row.Results, got[s])
	}
	return row
}

// judge fails the test for every failed step that is not a known issue or
// fails for another reason than the known one, and for every known issue
// that no longer fails.
func judge(t *testing.T, row *compat.Row) {
	for _, r := range row.Results {
		known, isKnown := lookupKnownIssue(row.Client, row.Mechanism, r.Step)
		t.Run(string(r.Step), func(t *testing.T) {
			switch {
			case r.Outcome == compat.OK && isKnown:
				t.Errorf("%s %s, step %s works now: remove it from knownIssues (%s)", row.Client, row.Mechanism, r.Step, known.reason)
			case r.Outcome == compat.OK, r.Outcome == compat.Unsupported:
				t.Logf("%s: %s", r.Outcome, r.Detail)
			case isKnown && strings.Contains(r.Detail, known.errorHas):
				if row.Known == nil {
					row.Known = map[compat.Step]string{}
				}
				row.Known[r.Step] = known.reason
				t.Logf("known issue: %s; %s: %s", known.reason, r.Outcome, r.Detail)
			case isKnown:
				t.Errorf("%s %s, step %s: %s, but not for the known reason (%q): %s", row.Client, row.Mechanism, r.Step, r.Outcome, known.errorHas, r.Detail)
			default:
				t.Errorf("%s %s, step %s: %s: %s", row.Client, row.Mechanism, r.Step, r.Outcome, r.Detail)
			}
		})
	}
}

// containsAll checks that every value of want is in got (read with
// readErr), exactly once when once is set.
func containsAll(got []string, readErr error, want []string, once bool) error {
	if readErr != nil {
		return readErr
	}
	for _, w := range want {
		n := 0
		for _, g := range got {
			if g == w {
				n++
			}
		}
		switch {
		case n == 0:
			return fmt.Errorf("record %q is not in the topic (it holds %d records)", w, len(got))
		case once && n > 1:
			return fmt.Errorf("record %q is in the topic %d times", w, n)
		}
	}
	return nil
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}

// randomSuffix makes names of one run unlike those of another.
func randomSuffix() string { return fmt.Sprintf("%08x", rand.Uint32()) }

// verifier checks, with the test's own franz-go client, what runners
// claim.
type verifier struct {
	t  *testing.T
	tg *target
}

func newVerifier(t *testing.T, tg *target) *verifier { return &verifier{t: t, tg: tg} }

func (v *verifier) client(opts ...kgo.Opt) *kgo.Client {
	v.t.Helper()
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, v.tg.admin...), opts...)...)
	if err != nil {
		v.t.Fatal(err)
	}
	return cl
}

// createTopics creates topics with 3 partitions and waits until each
// partition has a leader.
func (v *verifier) createTopics(ctx context.Context, topics ...string) {
	v.t.Helper()
	cl := v.client()
	defer cl.Close()
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopics(ctx, 3, 1, nil, topics...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		v.t.Fatalf("create topics %v: %v", topics, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		md, err := adm.Metadata(ctx, topics...)
		ready := err == nil
		for _, td := range md.Topics {
			ready = ready && td.Err == nil && len(td.Partitions) == 3
			for _, pd := range td.Partitions {
				ready = ready && pd.Leader >= 0 && pd.Err == nil
			}
		}
		if ready {
			return
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("topics %v have no leaders after 30s (%v)", topics, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sentinelPrefix starts the values read writes to mark the end of a
// partition; they are left out of what read returns.
const sentinelPrefix = "end-of-check-"

// read returns the values in topic, from every partition, as a
// read_committed or read_uncommitted consumer sees them. To know when it
// has read everything without waiting for silence, it first appends a
// sentinel record to each partition and reads until it meets them all.
func (v *verifier) read(ctx context.Context, topic string, committed bool) ([]string, error) {
	cl := v.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list the partitions of %s: %w", topic, err)
	}
	sentinel := sentinelPrefix + randomSuffix()
	pending := map[int32]bool{}
	parts := map[int32]kgo.Offset{}
	var marks []*kgo.Record
	ends.Each(func(o kadm.ListedOffset) {
		pending[o.Partition] = true
		parts[o.Partition] = kgo.NewOffset().AtStart()
		marks = append(marks, &kgo.Record{Topic: topic, Partition: o.Partition, Value: []byte(sentinel)})
	})
	if err := cl.ProduceSync(ctx, marks...).FirstErr(); err != nil {
		return nil, fmt.Errorf("mark the end of %s: %w", topic, err)
	}
	level := kgo.ReadUncommitted()
	if committed {
		level = kgo.ReadCommitted()
	}
	rd := v.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}), kgo.FetchIsolationLevel(level))
	defer rd.Close()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var values []string
	for len(pending) > 0 {
		fs := rd.PollFetches(rctx)
		if rctx.Err() != nil {
			return values, fmt.Errorf("%s: partitions %v not read to their end within 30s (an open transaction?)", topic, slices.Sorted(maps.Keys(pending)))
		}
		if err := fs.Err0(); err != nil {
			return values, fmt.Errorf("read %s: %w", topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			switch val := string(r.Value); {
			case val == sentinel:
				delete(pending, r.Partition)
			case !strings.HasPrefix(val, sentinelPrefix):
				values = append(values, val)
			}
		})
	}
	return values, nil
}

// committed checks that group's committed offsets on topic add up to n.
func (v *verifier) committed(ctx context.Context, group, topic string, n int) error {
	cl := v.client()
	defer cl.Close()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err == nil {
		err = offs.Error()
	}
	if err != nil {
		return fmt.Errorf("the group's offsets cannot be fetched: %w", err)
	}
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			sum += o.At
		}
	})
	if sum != int64(n) {
		return fmt.Errorf("the group's committed offsets add up to %d, want %d", sum, n)
	}
	return nil
}
