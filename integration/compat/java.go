package compat

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/clients"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/harness"
)

// javaMainClass is the Java runner, in integration/java.
const javaMainClass = "io.kafkaauthproxy.it.Compat"

// JavaRunner runs plans with the Apache Kafka Java client
// (org.apache.kafka:kafka-clients) of release KafkaVersion: it runs
// io.kafkaauthproxy.it.Compat of integration/java, built against that
// release by harness.RunJavaClientVersion. With OAUTHBEARER the client
// fetches its own token: Kafka's OAuthBearerLoginCallbackHandler (the same
// class name in 3.9 and 4.x) with the client-credentials grant, as
// clients.JavaOAuthProps sets it up.
type JavaRunner struct {
	// KafkaVersion is the kafka-clients release, e.g. "3.9.2".
	KafkaVersion string
}

// Version builds the runner against KafkaVersion (once per process) and
// returns the version of the kafka-clients jar on its classpath, as the jar
// itself says: an error if it is not KafkaVersion.
func (r JavaRunner) Version(ctx context.Context) (string, error) {
	out, err := harness.RunJavaClientVersion(ctx, r.KafkaVersion, javaMainClass, []string{"--version"}, nil)
	if err != nil {
		return "", fmt.Errorf("java client %s: %w", r.KafkaVersion, err)
	}
	v, err := parseJavaVersion(out)
	if err != nil {
		return "", fmt.Errorf("java client %s: %w", r.KafkaVersion, err)
	}
	if v != r.KafkaVersion {
		return "", fmt.Errorf("java client built for kafka-clients %s runs with kafka-clients %s", r.KafkaVersion, v)
	}
	return v, nil
}

// parseJavaVersion finds the version in the output of `Compat --version`,
// whose line is "kafka-clients VERSION" (other lines are the JVM's).
func parseJavaVersion(out string) (string, error) {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "kafka-clients "); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no kafka-clients version in the output of %s --version: %q", javaMainClass, out)
}

// Run runs `Compat [--property key=value]... PLAN` with the login
// properties of p (see javaArgs). Compat exits 1 when a step failed, so the
// exit status is an error only when it reported no step.
func (r JavaRunner) Run(ctx context.Context, p Plan) (string, []Result, error) {
	plan, remove, err := writePlan(p)
	if err != nil {
		return "", nil, fmt.Errorf("java client %s: %w", r.KafkaVersion, err)
	}
	defer remove()
	args, jvmProps, err := javaArgs(p, plan)
	if err != nil {
		return "", nil, fmt.Errorf("java client %s: %w", r.KafkaVersion, err)
	}
	out, runErr := harness.RunJavaClientVersion(ctx, r.KafkaVersion, javaMainClass, args, jvmProps)
	res, err := resultsOf(ctx, out, runErr)
	if err != nil {
		return out, nil, fmt.Errorf("java client %s: %w", r.KafkaVersion, err)
	}
	return out, res, nil
}

// javaArgs returns Compat's arguments for p, whose JSON is in planFile: one
// "--property key=value" per client property of the login, sorted, then
// planFile (last, as runners take it). jvmProps are the "-D" system
// properties for harness.RunJavaClientVersion: with OAUTHBEARER the token
// endpoint is allowed, since the 4.x client (and 3.9.1 and later, when the
// property is set) refuses to fetch from an URL that
// org.apache.kafka.sasl.oauthbearer.allowed.urls does not list.
func javaArgs(p Plan, planFile string) (args []string, jvmProps map[string]string, err error) {
	var props map[string]string
	switch p.Mechanism {
	case Plain:
		if p.Username == "" {
			return nil, nil, errors.New("a PLAIN plan without a username")
		}
		props = clients.JavaPlainProps(p.Username, p.Password)
	case OAuthBearer:
		if p.TokenEndpoint == "" || p.ClientID == "" {
			return nil, nil, errors.New("an OAUTHBEARER plan without a token endpoint and client id: the Java client fetches its own token")
		}
		props = clients.JavaOAuthProps(p.TokenEndpoint, p.ClientID, p.ClientSecret, nil)
	default:
		return nil, nil, fmt.Errorf("unknown mechanism %q", p.Mechanism)
	}
	jvmProps = map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if strings.HasPrefix(k, "-D") {
			jvmProps[k] = props[k]
			continue
		}
		args = append(args, "--property", k+"="+props[k])
	}
	return append(args, planFile), jvmProps, nil
}
