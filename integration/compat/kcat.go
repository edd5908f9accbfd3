package compat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// KcatRunner runs plans with kcat, librdkafka's command-line producer and
// consumer, as Debian packages it (kcat linked to Debian's librdkafka;
// .ci/prereqs installs it). kcat is not a program that could print STEP
// lines, so the runner performs each step with kcat processes and judges
// their output itself:
//
//   - produce, idempotent, resume: `kcat -P -K:` with "value:value" lines on
//     standard input and -X acks=all (and enable.idempotence=true); a step
//     succeeds when kcat exits 0 having reported every record delivered
//     (-v -v prints one line per delivery report).
//   - consume, resume: `kcat -C -G <group> -c <n>`, with
//     auto.offset.reset=earliest. kcat never commits by itself: the offsets
//     are committed by librdkafka's auto commit, whose last commit is the
//     synchronous one in consumer close; the runner checks its outcome in
//     librdkafka's cgrp debug log.
//   - denied: a produce to the denied topic, whose delivery reports must
//     carry librdkafka's authorization error.
//   - transaction: kcat's transactional mode (-X transactional.id) sends
//     all its input in one transaction, committed when the input ends and
//     aborted when kcat is interrupted. One kcat commits Records[transaction];
//     a second one is interrupted with SIGTERM once librdkafka's msg debug
//     log shows AbortedRecords acknowledged by the broker, so the abort
//     discards records that reached the log.
//
// The login properties, secrets included, go to kcat in a configuration
// file (-F, mode 0600) rather than on the command line. With OAUTHBEARER,
// librdkafka fetches its own token (sasl.oauthbearer.method=oidc), which
// needs a librdkafka built with libcurl: kcat cannot take a token from the
// application. Debian 12's librdkafka 2.0.2 is built without it, so there
// every step fails with librdkafka's own explanation (see checkOIDC).
type KcatRunner struct {
	// Path is the kcat binary; empty means kcat from PATH.
	Path string
}

// Version returns kcat's and its librdkafka's versions, as `kcat -V`
// prints them, e.g. "kcat 1.7.1 (librdkafka 2.0.2)".
func (r KcatRunner) Version(ctx context.Context) (string, error) {
	bin, err := r.bin()
	if err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, bin, "-V").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("kcat: %s -V: %w\n%s", bin, err, out)
	}
	return parseKcatVersion(string(out))
}

// Run performs p's steps with kcat processes.
func (r KcatRunner) Run(ctx context.Context, p Plan) (string, []Result, error) {
	bin, err := r.bin()
	if err != nil {
		return "", nil, err
	}
	conf, err := kcatConfig(p)
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "compat-kcat-*")
	if err != nil {
		return "", nil, err
	}
	defer os.RemoveAll(dir)
	confFile := filepath.Join(dir, "kcat.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		return "", nil, fmt.Errorf("kcat: write its configuration file: %w", err)
	}
	k := &kcat{bin: bin, conf: confFile, bootstrap: p.Bootstrap}
	fns := map[Step]stepFunc{
		StepProduce: func(ctx context.Context, p Plan) (string, error) {
			return k.produceStep(ctx, p.Topic, p.Records[StepProduce])
		},
		StepConsume: func(ctx context.Context, p Plan) (string, error) {
			return k.consume(ctx, p, p.Records[StepProduce], nil)
		},
		StepDenied: k.denied,
		StepIdempotent: func(ctx context.Context, p Plan) (string, error) {
			return k.produceStep(ctx, p.TxTopic, p.Records[StepIdempotent], "-X", "enable.idempotence=true")
		},
		StepTransaction: k.transaction,
		StepResume: func(ctx context.Context, p Plan) (string, error) {
			produced, err := k.produceStep(ctx, p.Topic, p.Records[StepResume])
			if err != nil {
				return "", err
			}
			consumed, err := k.consume(ctx, p, p.Records[StepResume], p.Records[StepProduce])
			if err != nil {
				return "", err
			}
			return produced + "; " + consumed, nil
		},
	}
	if p.Mechanism == OAuthBearer {
		// Without OIDC support every kcat would fail on its configuration
		// file; the steps say why once, in a few words.
		if err := k.checkOIDC(ctx); err != nil {
			for s := range fns {
				fns[s] = func(context.Context, Plan) (string, error) { return "", err }
			}
		}
	}
	steps, res := runSteps(ctx, p, fns)
	return k.transcript() + steps, res, nil
}

// checkOIDC fails when kcat's librdkafka cannot fetch tokens itself
// (sasl.oauthbearer.method=oidc, which needs a librdkafka built with
// libcurl): kcat has no other way to log in with OAUTHBEARER, as it cannot
// take a token from the application.
func (k *kcat) checkOIDC(ctx context.Context) error {
	// Setting builtin.features checks that the build has them; -X dump
	// then prints the configuration and exits. The empty -F keeps kcat
	// from reading the user's configuration file, which holds no OIDC
	// settings but may hold secrets.
	args := []string{"-F", os.DevNull, "-X", "builtin.features=oidc", "-X", "dump"}
	k.logf("$ kcat %s", strings.Join(args, " "))
	out, err := exec.CommandContext(ctx, k.bin, args...).CombinedOutput()
	if err == nil {
		return nil
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines {
		k.logf("  %s", l)
	}
	k.logf("  %v", err)
	// librdkafka's reason ends its error: `Unsupported value "oidc" for
	// configuration property "builtin.features": OAuth/OIDC depends on ...`.
	reason := kcatFailure(lines, err).Error()
	if _, after, ok := strings.Cut(reason, `"builtin.features": `); ok {
		reason, _, _ = strings.Cut(after, " (kcat: ")
	}
	return fmt.Errorf("kcat's librdkafka has no OIDC support (%s), and kcat cannot take a token from the application", reason)
}

func (r KcatRunner) bin() (string, error) {
	name := r.Path
	if name == "" {
		name = "kcat"
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("kcat: %w (on Debian/Ubuntu: apt-get install kcat; see .ci/prereqs)", err)
	}
	return bin, nil
}

var (
	kcatVersionLine = regexp.MustCompile(`(?m)^Version (\S+) \((.*)\)\s*$`)
	kcatLibrdkafka  = regexp.MustCompile(`librdkafka (\S+)`)
)

// parseKcatVersion reads the output of `kcat -V` (or of kafkacat, its
// former name), whose version line is like "Version 1.7.1 (JSON,
// Transactions, IncrementalAssign, librdkafka 2.0.2
// builtin.features=...)".
func parseKcatVersion(out string) (string, error) {
	m := kcatVersionLine.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("kcat: no version line in the output of -V: %q", out)
	}
	lib := kcatLibrdkafka.FindStringSubmatch(m[2])
	if lib == nil {
		return "", fmt.Errorf("kcat: no librdkafka version in %q", strings.TrimSpace(m[0]))
	}
	return fmt.Sprintf("kcat %s (librdkafka %s)", m[1], lib[1]), nil
}

// kcatConfig returns the librdkafka properties that log in as p says, in
// the format of kcat's -F file: "property=value" lines.
func kcatConfig(p Plan) (string, error) {
	props := [][2]string{{"security.protocol", "SASL_PLAINTEXT"}}
	switch p.Mechanism {
	case Plain:
		if p.Username == "" || p.Password == "" {
			return "", errors.New("kcat: PLAIN needs the plan's username and password")
		}
		props = append(props,
			[2]string{"sasl.mechanisms", "PLAIN"},
			[2]string{"sasl.username", p.Username},
			[2]string{"sasl.password", p.Password})
	case OAuthBearer:
		if p.TokenEndpoint == "" || p.ClientID == "" || p.ClientSecret == "" {
			return "", errors.New("kcat: OAUTHBEARER needs the plan's token endpoint, client id and client secret")
		}
		props = append(props,
			[2]string{"sasl.mechanisms", "OAUTHBEARER"},
			[2]string{"sasl.oauthbearer.method", "oidc"},
			[2]string{"sasl.oauthbearer.client.id", p.ClientID},
			[2]string{"sasl.oauthbearer.client.secret", p.ClientSecret},
			[2]string{"sasl.oauthbearer.token.endpoint.url", p.TokenEndpoint})
	default:
		return "", fmt.Errorf("kcat: unknown mechanism %q", p.Mechanism)
	}
	var b strings.Builder
	for _, kv := range props {
		if err := kcatConfigValue(kv[0], kv[1]); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	return b.String(), nil
}

// kcatConfigValue rejects what kcat's -F reader would change or cut: it
// reads lines of at most 511 bytes, trims white space around them, and
// turns `\:` and `\=` into `:` and `=` (for Java property files).
func kcatConfigValue(name, value string) error {
	switch {
	case strings.ContainsAny(value, "\r\n"):
		return fmt.Errorf("kcat: the value of %s holds a line break", name)
	case strings.TrimSpace(value) != value:
		return fmt.Errorf("kcat: the value of %s starts or ends with white space", name)
	case strings.Contains(value, `\:`) || strings.Contains(value, `\=`):
		return fmt.Errorf(`kcat: the value of %s holds \: or \=, which kcat's configuration file reader unescapes`, name)
	case len(name)+1+len(value)+1 > 511:
		return fmt.Errorf("kcat: the line of %s is longer than kcat's configuration file reader takes (511 bytes)", name)
	}
	return nil
}

// kcat runs the kcat processes of one plan and keeps their transcript.
type kcat struct {
	bin, conf, bootstrap string

	mu  sync.Mutex
	log strings.Builder
}

// logf adds a line to the transcript.
func (k *kcat) logf(format string, args ...any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	fmt.Fprintf(&k.log, format+"\n", args...)
}

// transcript is the commands run so far, with what they printed.
func (k *kcat) transcript() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.log.String()
}

// kcatProc is one kcat process.
type kcatProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser // with a nil input to start, else nil
	stdout bytes.Buffer
	stderr *lineWriter
}

// start starts kcat with args after the configuration file and the
// bootstrap address. input is its standard input; when it is nil the
// process gets a pipe, kcatProc.stdin. onStderr, if not nil, sees each
// line kcat writes to standard error as it comes.
//
// When ctx ends, kcat gets SIGTERM, on which it ends as on Ctrl-C (a
// consumer leaves its group, a transactional producer aborts), and
// SIGKILL 5 s later.
func (k *kcat) start(ctx context.Context, input io.Reader, onStderr func(string), args ...string) (*kcatProc, error) {
	// With -F, kcat reads neither ~/.config/kcat.conf nor $KCAT_CONFIG.
	argv := append([]string{"-F", k.conf, "-b", k.bootstrap}, args...)
	k.logf("$ kcat %s", strings.Join(argv, " "))
	cmd := exec.CommandContext(ctx, k.bin, argv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	p := &kcatProc{cmd: cmd, stderr: &lineWriter{onLine: onStderr}}
	cmd.Stdout, cmd.Stderr = &p.stdout, p.stderr
	if input != nil {
		cmd.Stdin = input
	} else {
		w, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		p.stdin = w
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("kcat: %w", err)
	}
	return p, nil
}

// wait waits for kcat to exit, logs its output and returns its standard
// error lines and its exit error.
func (k *kcat) wait(p *kcatProc) ([]string, error) {
	err := p.cmd.Wait()
	lines := p.stderr.Lines()
	for _, l := range lines {
		if kcatLogKeeps(l) {
			k.logf("  %s", l)
		}
	}
	if out := strings.TrimSpace(p.stdout.String()); out != "" {
		k.logf("  stdout: %s", strings.Join(strings.Fields(out), " "))
	}
	if err == nil {
		k.logf("  exit status 0")
	} else {
		k.logf("  %v", err)
	}
	return lines, err
}

// kcatLogKeeps tells whether a line of kcat's standard error goes into the
// transcript: kcat's own lines, and of librdkafka's debug lines (enabled
// with -d) only those the runner reads.
func kcatLogKeeps(line string) bool {
	if !strings.HasPrefix(line, "%7|") {
		return true
	}
	_, ok := kcatMsgSetDelivered(line)
	return ok || kcatCommitOutcome(line) != ""
}

// kcatProducerArgs are the arguments of a producer of "key:value" lines to
// topic, bounded by ctx's deadline.
func kcatProducerArgs(ctx context.Context, topic string, extra ...string) []string {
	args := []string{"-P", "-t", topic, "-K", ":", "-X", "acks=all",
		"-X", "message.timeout.ms=" + strconv.FormatInt(remaining(ctx, 2*time.Second).Milliseconds(), 10)}
	return append(args, extra...)
}

// kcatInput is the producer input for values, each also its key.
func kcatInput(values []string) (string, error) {
	var b strings.Builder
	for _, v := range values {
		if v == "" || strings.ContainsAny(v, ":\r\n") {
			return "", fmt.Errorf("kcat: record %q cannot be a line of kcat's key:value input", v)
		}
		b.WriteString(v + ":" + v + "\n")
	}
	return b.String(), nil
}

// remaining is the time left before ctx's deadline less margin (at least
// a second), or a minute when ctx has no deadline.
func remaining(ctx context.Context, margin time.Duration) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Minute
	}
	return max(time.Until(d)-margin, time.Second)
}

// produce runs one kcat producer of values to topic, reporting every
// delivery (-v -v).
func (k *kcat) produce(ctx context.Context, topic string, values []string, extra ...string) (producerLog, error) {
	in, err := kcatInput(values)
	if err != nil {
		return producerLog{}, err
	}
	p, err := k.start(ctx, strings.NewReader(in), nil, kcatProducerArgs(ctx, topic, append([]string{"-v", "-v"}, extra...)...)...)
	if err != nil {
		return producerLog{}, err
	}
	lines, exitErr := k.wait(p)
	log := parseProducerLog(lines)
	log.exit = exitErr
	return log, nil
}

// produceStep produces values to topic and succeeds when every one was
// delivered.
func (k *kcat) produceStep(ctx context.Context, topic string, values []string, extra ...string) (string, error) {
	log, err := k.produce(ctx, topic, values, extra...)
	if err != nil {
		return "", err
	}
	if err := log.check(ctx, len(values)); err != nil {
		return "", err
	}
	return acked(values), nil
}

// denied produces to the denied topic, expecting librdkafka's
// authorization error.
func (k *kcat) denied(ctx context.Context, p Plan) (string, error) {
	values := p.Records[StepDenied]
	log, err := k.produce(ctx, p.DeniedTopic, values)
	if err != nil {
		return "", err
	}
	if log.delivered > 0 {
		return "", fmt.Errorf("%d records to the denied topic were acknowledged", log.delivered)
	}
	for _, reason := range append(append([]string{}, log.failed...), log.errors...) {
		if strings.Contains(strings.ToLower(reason), "authorization failed") {
			return reason, nil
		}
	}
	if err := log.check(ctx, len(values)); err != nil {
		return "", fmt.Errorf("no authorization error: %w", err)
	}
	return "", errors.New("no authorization error")
}

// consume reads the topic in p's group with `kcat -G` until len(want)
// records have arrived and checks them against want and forbidden. The
// offsets are committed by librdkafka's auto commit (enable.auto.commit is
// on by default; set with -X it would land on kcat's topic configuration
// as the legacy auto.commit.enable) as kcat closes the consumer;
// librdkafka's cgrp debug log says whether that commit worked.
func (k *kcat) consume(ctx context.Context, p Plan, want, forbidden []string) (string, error) {
	proc, err := k.start(ctx, strings.NewReader(""), nil,
		"-C", "-G", p.Group,
		"-X", "auto.offset.reset=earliest",
		"-c", strconv.Itoa(len(want)),
		"-f", `%s\n`, "-u",
		"-d", "cgrp",
		p.Topic)
	if err != nil {
		return "", err
	}
	lines, exitErr := k.wait(proc)
	c := newConsumed(want, forbidden)
	for _, v := range strings.Split(strings.TrimSuffix(proc.stdout.String(), "\n"), "\n") {
		if v != "" {
			c.add(v)
		}
	}
	if exitErr != nil && ctx.Err() == nil { // kcat gave up, rather than the runner
		if err := c.err(ctx); err != nil {
			return "", fmt.Errorf("%w; %w", kcatFailure(lines, exitErr), err)
		}
		return "", kcatFailure(lines, exitErr)
	}
	if err := c.err(ctx); err != nil {
		return "", err
	}
	if exitErr != nil {
		return "", kcatFailure(lines, exitErr)
	}
	switch commit := lastCommit(lines); commit {
	case "":
		return "", errors.New("kcat exited without committing offsets (no OffsetCommit in librdkafka's log)")
	case "Success":
		return c.summary() + " (librdkafka's auto commit, on close)", nil
	default:
		return "", fmt.Errorf("offset commit on close: %s", commit)
	}
}

// transaction commits a transaction of Records[transaction] with one kcat
// and aborts one of AbortedRecords with another.
func (k *kcat) transaction(ctx context.Context, p Plan) (string, error) {
	txn := []string{"-X", "transactional.id=" + p.TransactionalID,
		// -m bounds init_transactions and commit or abort; two kcat
		// processes share the step.
		"-m", strconv.Itoa(int(max(remaining(ctx, 0)/4, time.Second).Seconds()))}
	committed := p.Records[StepTransaction]
	log, err := k.produce(ctx, p.TxTopic, committed, txn...)
	if err != nil {
		return "", err
	}
	if err := log.check(ctx, len(committed)); err != nil {
		return "", fmt.Errorf("commit a transaction: %w", err)
	}
	if !log.committed {
		return "", errors.New("commit a transaction: kcat did not report it committed")
	}
	if err := k.abort(ctx, p.TxTopic, p.AbortedRecords, txn); err != nil {
		return "", fmt.Errorf("abort a transaction: %w", err)
	}
	return fmt.Sprintf("committed %d records, aborted %d (transactional.id %s; kcat commits when its input ends, aborts on SIGTERM)",
		len(committed), len(p.AbortedRecords), p.TransactionalID), nil
}

// abort produces values in a transaction and aborts it once the broker has
// acknowledged them: kcat aborts its transaction when it is interrupted
// and commits it when its input ends, so it gets SIGTERM first and the end
// of its input after.
func (k *kcat) abort(ctx context.Context, topic string, values, txn []string) error {
	if len(values) == 0 {
		return errors.New("the plan has no records to abort")
	}
	in, err := kcatInput(values)
	if err != nil {
		return err
	}
	allAcked := make(chan struct{})
	n := 0 // records acknowledged
	// onStderr is called by one goroutine at a time.
	onStderr := func(line string) {
		if c, ok := kcatMsgSetDelivered(line); ok {
			if n < len(values) && n+c >= len(values) {
				close(allAcked)
			}
			n += c
		}
	}
	// kcat serves delivery reports only as it produces the next record or
	// ends, so librdkafka's debug log (-d msg, written as it happens) tells
	// when the broker acknowledged the records.
	proc, err := k.start(ctx, nil, onStderr, kcatProducerArgs(ctx, topic, append([]string{"-d", "msg"}, txn...)...)...)
	if err != nil {
		return err
	}
	exited := make(chan struct{})
	var (
		lines   []string
		exitErr error
	)
	go func() {
		lines, exitErr = k.wait(proc)
		close(exited)
	}()
	// kcat (1.7.1) reads its input in blocks of 1 KiB and waits for a
	// whole block before it produces the lines in it: the records are
	// followed by empty lines, which it skips, and the input stays open.
	go func() {
		pad := strings.Repeat("\n", max(4096, 1024*(len(values)+2)))
		_, _ = io.WriteString(proc.stdin, in+pad) // fails only if kcat is gone
	}()
	timedOut := false
	select {
	case <-allAcked:
	case <-exited:
	case <-ctx.Done():
		timedOut = true
	}
	// Once kcat has the signal, the end of its input makes it leave its
	// read loop and abort.
	_ = proc.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(200 * time.Millisecond):
	}
	_ = proc.stdin.Close()
	<-exited
	switch {
	case n < len(values):
		err := fmt.Errorf("the broker acknowledged %d of %d records before the abort", n, len(values))
		if timedOut {
			err = errors.Join(err, ctx.Err())
		}
		return errors.Join(err, kcatFailure(lines, exitErr))
	case exitErr != nil:
		return kcatFailure(lines, exitErr)
	case !containsLine(lines, "Aborting transaction due to termination signal"):
		return errors.New("kcat did not report the abort")
	}
	return nil
}

// producerLog is what a kcat producer reported on standard error.
type producerLog struct {
	delivered int      // "Message delivered" lines (verbosity 3)
	failed    []string // the reasons of "Delivery failed for message" lines
	errors    []string // "% ERROR: ..." and fatal client error lines
	committed bool     // "Transaction successfully committed"
	exit      error    // the process's exit error
}

// parseProducerLog reads a kcat producer's standard error.
func parseProducerLog(lines []string) producerLog {
	var l producerLog
	for _, line := range lines {
		switch {
		case strings.HasPrefix(line, "% Message delivered to partition"):
			l.delivered++
		case strings.HasPrefix(line, "% Delivery failed for message: "):
			l.failed = append(l.failed, strings.TrimPrefix(line, "% Delivery failed for message: "))
		case strings.HasPrefix(line, "% ERROR: "):
			l.errors = append(l.errors, strings.TrimPrefix(line, "% ERROR: "))
		case strings.HasPrefix(line, "% FATAL CLIENT ERROR: "):
			l.errors = append(l.errors, strings.TrimPrefix(line, "% "))
		case strings.HasPrefix(line, "% Transaction successfully committed"):
			l.committed = true
		}
	}
	return l
}

// check succeeds when kcat exited 0 having delivered n records, and
// otherwise says what went wrong, in kcat's words where it has any.
func (l producerLog) check(ctx context.Context, n int) error {
	if l.exit == nil && l.delivered == n && len(l.failed) == 0 {
		return nil
	}
	var err error
	switch {
	case len(l.failed) > 0:
		err = fmt.Errorf("delivery failed for %d of %d records: %s", len(l.failed), n, l.failed[0])
	case len(l.errors) > 0:
		err = errors.New(l.errors[len(l.errors)-1])
	default:
		err = fmt.Errorf("%d of %d records delivered", l.delivered, n)
	}
	if l.exit != nil {
		err = fmt.Errorf("%w (kcat: %v)", err, l.exit)
	}
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return err
}

// kcatFailure describes a kcat that failed by its last error line, or nil
// when it exited 0.
func kcatFailure(lines []string, exitErr error) error {
	if exitErr == nil {
		return nil
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(lines[i], "% ERROR: "); ok {
			return fmt.Errorf("%s (kcat: %v)", msg, exitErr)
		}
	}
	return fmt.Errorf("kcat: %w", exitErr)
}

var (
	kcatMsgSet = regexp.MustCompile(`\|MSGSET\|.*: MessageSet with (\d+) message\(s\) .*delivered`)
	kcatCommit = regexp.MustCompile(`\|COMMIT\|.*OffsetCommit for \d+ partition\(s\).*: returned: (.+)$`)
)

// kcatMsgSetDelivered reads a librdkafka msg debug line that reports a
// batch acknowledged by the broker and returns its number of records.
func kcatMsgSetDelivered(line string) (int, bool) {
	m := kcatMsgSet.FindStringSubmatch(line)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// kcatCommitOutcome reads a librdkafka cgrp debug line that reports an
// offset commit's outcome ("Success" or the error), else "".
func kcatCommitOutcome(line string) string {
	if m := kcatCommit.FindStringSubmatch(line); m != nil {
		return strings.TrimSpace(m[1])
	}
	return ""
}

// lastCommit is the outcome of the last offset commit in lines, or "".
func lastCommit(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if o := kcatCommitOutcome(lines[i]); o != "" {
			return o
		}
	}
	return ""
}

func containsLine(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// lineWriter keeps what is written to it as lines and hands each complete
// line to onLine, if set, as it comes.
type lineWriter struct {
	onLine func(string)

	mu      sync.Mutex
	lines   []string
	partial []byte
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.partial = append(w.partial, b...)
	var complete []string
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		complete = append(complete, strings.TrimSuffix(string(w.partial[:i]), "\r"))
		w.partial = w.partial[i+1:]
	}
	w.lines = append(w.lines, complete...)
	w.mu.Unlock()
	if w.onLine != nil {
		for _, l := range complete {
			w.onLine(l)
		}
	}
	return len(b), nil
}

// Lines returns the lines written so far, with an unfinished last one.
func (w *lineWriter) Lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := append([]string{}, w.lines...)
	if len(w.partial) > 0 {
		lines = append(lines, string(w.partial))
	}
	return lines
}
