package clients

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/harness"
)

const (
	// JavaOAuthLoginCallbackHandler is Kafka's login handler that fetches
	// tokens from an OAuth token endpoint (client credentials) and
	// refreshes them.
	JavaOAuthLoginCallbackHandler = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"
	// JavaAllowedURLsProperty is the JVM system property that Kafka 4
	// clients and brokers check before they contact a token or JWKS
	// endpoint: a comma-separated list of allowed URLs.
	JavaAllowedURLsProperty = "org.apache.kafka.sasl.oauthbearer.allowed.urls"
)

// JavaOAuthProps returns client properties for harness.JavaRoundTrip and
// JavaConsumeFor that log in with SASL/OAUTHBEARER over SASL_PLAINTEXT
// through Kafka's own OIDC login handler: OAuthBearerLoginCallbackHandler
// fetches a token from tokenURL with the client-credentials grant (client id
// and secret as JAAS options clientId and clientSecret) and refreshes it.
// Each extension is sent as a SASL extension (JAAS option extension_KEY);
// Kafka accepts only keys of letters and refuses "auth".
//
// The map also holds "-D"+JavaAllowedURLsProperty = tokenURL, which
// harness.RunJavaClient turns into a JVM system property: Kafka 4 refuses
// to fetch from any URL that it does not list. Change security.protocol to
// SASL_SSL (and add ssl.* properties) for a TLS listener.
func JavaOAuthProps(tokenURL, clientID, secret string, extensions map[string]string) map[string]string {
	jaas := []string{
		"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required",
		"clientId=" + jaasQuote(clientID),
		"clientSecret=" + jaasQuote(secret),
	}
	for _, k := range slices.Sorted(maps.Keys(extensions)) {
		jaas = append(jaas, "extension_"+k+"="+jaasQuote(extensions[k]))
	}
	return map[string]string{
		"security.protocol":                   "SASL_PLAINTEXT",
		"sasl.mechanism":                      "OAUTHBEARER",
		"sasl.login.callback.handler.class":   JavaOAuthLoginCallbackHandler,
		"sasl.oauthbearer.token.endpoint.url": tokenURL,
		"sasl.jaas.config":                    strings.Join(jaas, " ") + ";",
		"-D" + JavaAllowedURLsProperty:        tokenURL,
	}
}

// JavaPlainProps returns client properties for harness.JavaRoundTrip and
// JavaConsumeFor that log in with SASL/PLAIN over SASL_PLAINTEXT.
func JavaPlainProps(user, pass string) map[string]string {
	return map[string]string{
		"security.protocol": "SASL_PLAINTEXT",
		"sasl.mechanism":    "PLAIN",
		"sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule required username=" +
			jaasQuote(user) + " password=" + jaasQuote(pass) + ";",
	}
}

// jaasQuote quotes a JAAS option value (Kafka's JaasConfig reads it with a
// StreamTokenizer, which undoes these escapes).
func jaasQuote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// JavaConsumeFor runs the Java client's ConsumeFor against bootstrap for d:
// ONE producer sends a record to topic every 200 ms (acks=all, idempotence)
// while ONE consumer, in a fresh group, consumes them; then every
// acknowledged record must arrive. props are as for harness.JavaRoundTrip
// (client properties for both clients; "-D" keys are JVM system
// properties), e.g. JavaOAuthProps.
//
// It fails, with err non-nil and a FAIL line in output, on the first send,
// poll or commit error; on any failed authentication or re-authentication
// or any connection closed during the run (the clients' metrics
// failed-authentication-total, failed-reauthentication-total and
// connection-close-total: the clients reconnect silently, so a connection
// dropped by the proxy shows only there); when the consumer consumes
// nothing new (or the producer gets no acknowledgement while records are in
// flight) for 5 s; when nothing at all is consumed within 30 s of the start;
// and when ctx ends. d counts from the creation of the clients, startup
// included.
//
// On success the last line of output is "OK produced=N acked=N consumed=N
// duplicates=D elapsed_ms=... reauthentications=R connections=C
// connection_closes=0 failed_authentications=0 max_gap_ms=G" (see
// SummaryFields), with progress lines before it every 2 s.
func JavaConsumeFor(ctx context.Context, bootstrap, topic string, d time.Duration, props map[string]string) (output string, err error) {
	if d < time.Millisecond {
		return "", fmt.Errorf("clients: JavaConsumeFor: duration %v is too short", d)
	}
	if bootstrap == "" || topic == "" {
		return "", errors.New("clients: JavaConsumeFor needs a bootstrap address and a topic")
	}
	// The client stops itself 60 s after d at the latest; this is the
	// backstop, with room for the Maven build and the JVM's start.
	ctx, cancel := context.WithTimeout(ctx, d+3*time.Minute)
	defer cancel()
	group := fmt.Sprintf("%s-consumefor-%d", topic, time.Now().UnixNano())
	output, err = harness.RunJavaClient(ctx, "io.kafkaauthproxy.it.ConsumeFor", []string{
		"--bootstrap", bootstrap,
		"--topic", topic,
		"--group", group,
		"--duration-ms", fmt.Sprint(d.Milliseconds()),
		"--interval-ms", "200",
		"--stall-ms", "5000",
		"--start-ms", "30000",
	}, props)
	if err != nil {
		return output, fmt.Errorf("java consume-for %v against %s, topic %s: %w", d, bootstrap, topic, err)
	}
	return output, nil
}
