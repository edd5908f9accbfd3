package compat

import (
	"bufio"
	"fmt"
	"strings"
)

// Step is one thing a client is asked to do; see the package comment.
type Step string

// The steps, in the order a runner performs them.
const (
	StepProduce     Step = "produce"
	StepConsume     Step = "consume"
	StepDenied      Step = "denied"
	StepIdempotent  Step = "idempotent"
	StepTransaction Step = "transaction"
	StepResume      Step = "resume"
)

// Steps lists every step in the order of the table's columns.
var Steps = []Step{StepProduce, StepConsume, StepResume, StepDenied, StepIdempotent, StepTransaction}

// Mechanism is a SASL mechanism the matrix logs in with.
type Mechanism string

// The mechanisms of the matrix.
const (
	Plain       Mechanism = "PLAIN"
	OAuthBearer Mechanism = "OAUTHBEARER"
)

// Plan is what a runner is asked to do, written as JSON to a file whose path
// is the runner's last argument.
type Plan struct {
	// Bootstrap is the proxy's bootstrap address, host:port.
	Bootstrap string `json:"bootstrap"`
	// Mechanism is PLAIN or OAUTHBEARER, over SASL_PLAINTEXT.
	Mechanism Mechanism `json:"mechanism"`
	// Username and Password log in with PLAIN (an API key and its secret).
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// TokenEndpoint, ClientID and ClientSecret are for clients with their
	// own OIDC support (client-credentials grant): Java and librdkafka.
	TokenEndpoint string `json:"token_endpoint,omitempty"`
	ClientID      string `json:"client_id,omitempty"`
	ClientSecret  string `json:"client_secret,omitempty"`
	// Token is an access token the test fetched from TokenEndpoint, for
	// clients that only take a token from the application.
	Token string `json:"token,omitempty"`

	Topic           string `json:"topic"`
	TxTopic         string `json:"tx_topic"`
	DeniedTopic     string `json:"denied_topic"`
	Group           string `json:"group"`
	TransactionalID string `json:"transactional_id"`

	// Steps are the steps of this process, in order.
	Steps []Step `json:"steps"`
	// Records are the values (also used as keys) each step produces.
	Records map[Step][]string `json:"records"`
	// AbortedRecords are produced in the transaction the runner aborts.
	AbortedRecords []string `json:"aborted_records"`
	// StepTimeoutMs bounds each step.
	StepTimeoutMs int `json:"step_timeout_ms"`
}

// Outcome is how a step ended.
type Outcome string

// The outcomes. Skipped is for a step the runner never reported (it
// crashed, or an earlier phase failed), which counts as a failure.
const (
	OK          Outcome = "ok"
	Failed      Outcome = "fail"
	Unsupported Outcome = "unsupported"
	Skipped     Outcome = "skipped"
)

// Result is one step's outcome with the runner's (or the verifier's) words.
type Result struct {
	Step    Step    `json:"step"`
	Outcome Outcome `json:"outcome"`
	Detail  string  `json:"detail,omitempty"`
}

// ParseOutput reads the STEP lines of a runner's output. A line that names
// an unknown step or outcome is an error, so a runner's typo cannot pass
// for a result; other lines are the client's logs and are ignored.
func ParseOutput(out string) ([]Result, error) {
	var res []Result
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, "STEP ")
		if !ok {
			continue
		}
		fields := strings.SplitN(rest, " ", 3)
		if len(fields) < 2 {
			return nil, fmt.Errorf("malformed result line %q", line)
		}
		r := Result{Step: Step(fields[0]), Outcome: Outcome(fields[1])}
		if len(fields) == 3 {
			r.Detail = strings.TrimSpace(fields[2])
		}
		if !knownStep(r.Step) {
			return nil, fmt.Errorf("result line %q: unknown step %q", line, r.Step)
		}
		switch r.Outcome {
		case OK, Failed, Unsupported:
		default:
			return nil, fmt.Errorf("result line %q: unknown outcome %q", line, r.Outcome)
		}
		res = append(res, r)
	}
	return res, sc.Err()
}

func knownStep(s Step) bool {
	for _, k := range Steps {
		if k == s {
			return true
		}
	}
	return false
}
