//go:build integration

package harness_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/harness"
)

func TestSingleBroker(t *testing.T) {
	c := harness.StartT(t, harness.Options{Brokers: 1})
	if !slices.Equal(c.NodeIDs, []int32{1}) {
		t.Fatalf("NodeIDs = %v, want [1]", c.NodeIDs)
	}
	if len(c.Bootstrap) != 1 || len(c.SASLBootstrap) != 0 || len(c.TLSBootstrap) != 0 {
		t.Fatalf("bootstrap lists = %v / %v / %v, want one PLAINTEXT only", c.Bootstrap, c.SASLBootstrap, c.TLSBootstrap)
	}
	wantBrokers(t, []int32{1}, kgo.SeedBrokers(c.Bootstrap...))
	roundTrip(t, "plaintext", 1, kgo.SeedBrokers(c.Bootstrap...))
}

func TestThreeBrokersSASLTLS(t *testing.T) {
	c := harness.StartT(t, harness.Options{Brokers: 3, SASL: true, TLS: true})
	if !slices.Equal(c.NodeIDs, []int32{1, 2, 3}) {
		t.Fatalf("NodeIDs = %v, want [1 2 3]", c.NodeIDs)
	}
	tlsCfg, err := c.ClientTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	plainAuth := plain.Auth{User: c.SASLUser, Pass: c.SASLPassword}
	scramAuth := scram.Auth{User: c.SASLUser, Pass: c.SASLPassword}

	t.Run("plaintext", func(t *testing.T) {
		wantBrokers(t, []int32{1, 2, 3}, kgo.SeedBrokers(c.Bootstrap...))
		roundTrip(t, "plaintext", 3, kgo.SeedBrokers(c.Bootstrap...))
	})
	t.Run("sasl-plain", func(t *testing.T) {
		roundTrip(t, "sasl-plain", 3, kgo.SeedBrokers(c.SASLBootstrap...), kgo.SASL(plainAuth.AsMechanism()))
	})
	t.Run("sasl-scram-sha-256", func(t *testing.T) {
		wantBrokers(t, []int32{1, 2, 3}, kgo.SeedBrokers(c.SASLBootstrap...), kgo.SASL(scramAuth.AsSha256Mechanism()))
	})
	t.Run("sasl-scram-sha-512", func(t *testing.T) {
		roundTrip(t, "sasl-scram", 3, kgo.SeedBrokers(c.SASLBootstrap...), kgo.SASL(scramAuth.AsSha512Mechanism()))
	})
	t.Run("sasl-wrong-password", func(t *testing.T) {
		bad := scram.Auth{User: c.SASLUser, Pass: "wrong"}
		wantFailure(t, "SASL", kgo.SeedBrokers(c.SASLBootstrap...), kgo.SASL(bad.AsSha512Mechanism()))
	})
	t.Run("mtls", func(t *testing.T) {
		roundTrip(t, "mtls", 3, kgo.SeedBrokers(c.TLSBootstrap...), kgo.DialTLSConfig(tlsCfg.Clone()))
	})
	t.Run("tls-without-client-cert", func(t *testing.T) {
		noCert := tlsCfg.Clone()
		noCert.Certificates = nil
		wantFailure(t, "", kgo.SeedBrokers(c.TLSBootstrap...), kgo.DialTLSConfig(noCert))
	})
	t.Run("stop-and-start-broker", func(t *testing.T) {
		if err := c.StopBroker(3); err != nil {
			t.Fatal(err)
		}
		eventuallyBrokers(t, []int32{1, 2}, kgo.SeedBrokers(c.Bootstrap[:2]...))
		// Replication factor 3, min ISR 1: the cluster keeps serving.
		roundTrip(t, "degraded", 3, kgo.SeedBrokers(c.Bootstrap[:2]...))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.StartBroker(ctx, 3); err != nil {
			t.Fatal(err)
		}
		wantBrokers(t, []int32{1, 2, 3}, kgo.SeedBrokers(c.Bootstrap...))
	})
}

func TestJavaRoundTrip(t *testing.T) {
	c := harness.StartT(t, harness.Options{Brokers: 1, SASL: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	out, err := harness.JavaRoundTrip(ctx, c.Bootstrap[0], "java-plaintext", 200, nil)
	if err != nil {
		t.Fatalf("plaintext: %v", err)
	}
	if !strings.Contains(out, "OK produced=200 consumed=200") {
		t.Fatalf("plaintext: no OK summary in output:\n%s", out)
	}
	t.Logf("plaintext: %s", out)

	out, err = harness.JavaRoundTrip(ctx, c.SASLBootstrap[0], "java-scram", 50, map[string]string{
		"security.protocol": "SASL_PLAINTEXT",
		"sasl.mechanism":    "SCRAM-SHA-512",
		"sasl.jaas.config": fmt.Sprintf(`org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";`,
			c.SASLUser, c.SASLPassword),
	})
	if err != nil {
		t.Fatalf("sasl scram-sha-512: %v", err)
	}
	if !strings.Contains(out, "OK produced=50 consumed=50") {
		t.Fatalf("sasl scram-sha-512: no OK summary in output:\n%s", out)
	}
	t.Logf("sasl scram-sha-512: %s", out)

	out, err = harness.JavaRoundTrip(ctx, c.SASLBootstrap[0], "java-bad", 1, map[string]string{
		"security.protocol": "SASL_PLAINTEXT",
		"sasl.mechanism":    "PLAIN",
		"sasl.jaas.config":  `org.apache.kafka.common.security.plain.PlainLoginModule required username="nobody" password="wrong";`,
	})
	if err == nil {
		t.Fatalf("wrong password: round trip succeeded:\n%s", out)
	}
	if !strings.Contains(out, "FAIL: ") || !strings.Contains(out, "SaslAuthenticationException") {
		t.Fatalf("wrong password: output lacks a FAIL line naming the SASL failure:\n%s", out)
	}
	t.Logf("wrong password fails as expected: %v", firstLine(err.Error()))
}

// newClient returns a client that fails fast, closed at the end of the test.
func newClient(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{kgo.DialTimeout(5 * time.Second), kgo.RequestRetries(3)}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// brokerIDs returns the sorted node ids of a fresh Metadata answer. It sends
// a raw request: kadm.BrokerMetadata answers the broker list from the
// client's cache.
func brokerIDs(ctx context.Context, cl *kgo.Client) ([]int32, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	var ids []int32
	for _, b := range resp.Brokers {
		ids = append(ids, b.NodeID)
	}
	slices.Sort(ids)
	return ids, nil
}

// wantBrokers checks that Metadata lists exactly ids.
func wantBrokers(t *testing.T, ids []int32, opts ...kgo.Opt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := brokerIDs(ctx, newClient(t, opts...))
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("brokers = %v, want %v", got, ids)
	}
}

// eventuallyBrokers waits until Metadata lists exactly ids.
func eventuallyBrokers(t *testing.T, ids []int32, opts ...kgo.Opt) {
	t.Helper()
	cl := newClient(t, opts...)
	deadline := time.Now().Add(45 * time.Second)
	var (
		got []int32
		err error
	)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err = brokerIDs(ctx, cl)
		cancel()
		if err == nil && slices.Equal(got, ids) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("brokers = %v (last error %v), want %v", got, err, ids)
}

// wantFailure checks that a Metadata request fails, with an error
// containing substr.
func wantFailure(t *testing.T, substr string, opts ...kgo.Opt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	opts = append(opts, kgo.RequestRetries(0))
	_, err := brokerIDs(ctx, newClient(t, opts...))
	if err == nil {
		t.Fatal("metadata succeeded, want failure")
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q does not contain %q", err, substr)
	}
	t.Logf("fails as expected: %v", err)
}

// roundTrip creates a topic, produces records and consumes them all back
// in a consumer group that commits.
func roundTrip(t *testing.T, name string, rf int16, opts ...kgo.Opt) {
	t.Helper()
	const records = 20
	topic := fmt.Sprintf("rt-%s-%d", name, time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	adm := kadm.NewClient(newClient(t, opts...))
	resp, err := adm.CreateTopic(ctx, 3, rf, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}

	prod := newClient(t, append(opts, kgo.DefaultProduceTopic(topic))...)
	for i := range records {
		if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("v%d", i))).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}

	cons := newClient(t, append(opts,
		kgo.ConsumeTopics(topic),
		kgo.ConsumerGroup(topic+"-group"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
	)...)
	seen := make(map[string]bool)
	for len(seen) < records {
		fetches := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume: got %d of %d records: %v", len(seen), records, err)
		}
		fetches.EachError(func(topic string, p int32, err error) {
			t.Fatalf("fetch %s[%d]: %v", topic, p, err)
		})
		fetches.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
		if err := cons.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	for i := range records {
		if v := fmt.Sprintf("v%d", i); !seen[v] {
			t.Fatalf("record %q not consumed", v)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
