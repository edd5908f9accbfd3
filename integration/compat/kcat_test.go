package compat

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// These tests need no kcat; TestCompatibility (build tag integration) runs
// it for real.

func TestParseKcatVersion(t *testing.T) {
	for _, tc := range []struct {
		name, out, want string
	}{
		{
			name: "kcat 1.7.1 of Debian 12",
			out: "kcat - Apache Kafka producer and consumer tool\nhttps://github.com/edenhill/kcat\n" +
				"Copyright (c) 2014-2021, Magnus Edenhill\n" +
				"Version 1.7.1 (JSON, Transactions, IncrementalAssign, librdkafka 2.0.2 builtin.features=gzip,snappy,ssl,sasl,regex,lz4,sasl_gssapi,sasl_plain,sasl_scram,plugins,zstd,sasl_oauthbearer)\n\n",
			want: "kcat 1.7.1 (librdkafka 2.0.2)",
		},
		{
			name: "kafkacat, its former name",
			out:  "kafkacat - Apache Kafka producer and consumer tool\nVersion 1.6.0 (JSON, Avro, Transactions, librdkafka 1.6.1 builtin.features=gzip,snappy)\n",
			want: "kcat 1.6.0 (librdkafka 1.6.1)",
		},
		{name: "no version line", out: "kcat: invalid option -- 'V'\n"},
		{name: "no librdkafka", out: "Version 1.7.1 (JSON, Transactions)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseKcatVersion(tc.out)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got %q, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestKcatConfig(t *testing.T) {
	plain := Plan{Mechanism: Plain, Username: "KEY1", Password: "s3cret+/=="}
	oidc := Plan{Mechanism: OAuthBearer, TokenEndpoint: "http://127.0.0.1:8080/token", ClientID: "payments-app", ClientSecret: "shh"}
	for _, tc := range []struct {
		name    string
		plan    Plan
		want    string // the file, or "" for an error
		wantErr string
	}{
		{
			name: "PLAIN",
			plan: plain,
			want: "security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=PLAIN\nsasl.username=KEY1\nsasl.password=s3cret+/==\n",
		},
		{
			name: "OAUTHBEARER with librdkafka's OIDC",
			plan: oidc,
			want: "security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=OAUTHBEARER\nsasl.oauthbearer.method=oidc\n" +
				"sasl.oauthbearer.client.id=payments-app\nsasl.oauthbearer.client.secret=shh\n" +
				"sasl.oauthbearer.token.endpoint.url=http://127.0.0.1:8080/token\n",
		},
		{name: "PLAIN without a password", plan: Plan{Mechanism: Plain, Username: "KEY1"}, wantErr: "username and password"},
		{name: "OAUTHBEARER with only a token", plan: Plan{Mechanism: OAuthBearer, Token: "eyJ..."}, wantErr: "token endpoint"},
		{name: "unknown mechanism", plan: Plan{Mechanism: "SCRAM-SHA-256"}, wantErr: "unknown mechanism"},
		{name: "line break", plan: Plan{Mechanism: Plain, Username: "KEY1", Password: "a\nsasl.username=x"}, wantErr: "line break"},
		{name: "trailing space", plan: Plan{Mechanism: Plain, Username: "KEY1", Password: "secret "}, wantErr: "white space"},
		{name: "escape kcat would undo", plan: Plan{Mechanism: Plain, Username: "KEY1", Password: `a\=b`}, wantErr: `\=`},
		{name: "too long", plan: Plan{Mechanism: Plain, Username: "KEY1", Password: strings.Repeat("x", 500)}, wantErr: "511"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kcatConfig(tc.plan)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %q, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestKcatInput(t *testing.T) {
	got, err := kcatInput([]string{"produce-0", "produce-1"})
	if want := "produce-0:produce-0\nproduce-1:produce-1\n"; err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"", "a:b", "a\nb"} {
		if got, err := kcatInput([]string{bad}); err == nil {
			t.Errorf("record %q: got %q, want an error", bad, got)
		}
	}
}

func TestParseProducerLog(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  producerLog
		ok    bool // check(ctx, 2) succeeds when kcat exited 0
	}{
		{
			name: "all delivered in a transaction",
			lines: []string{
				"% Reading configuration from file /tmp/compat-kcat-1/kcat.conf",
				"% Using transactional producer",
				"% Committing transaction",
				"% Message delivered to partition 6 (offset 0) on broker 0",
				"% Enable message offset reporting with '-X topic.produce.offset.report=true'",
				"% Message delivered to partition 8 (offset 0) on broker 0",
				"% Transaction successfully committed",
			},
			want: producerLog{delivered: 2, committed: true},
			ok:   true,
		},
		{
			name: "denied",
			lines: []string{
				"% Delivery failed for message: Broker: Topic authorization failed",
				"% Delivery failed for message: Broker: Topic authorization failed",
			},
			want: producerLog{failed: []string{"Broker: Topic authorization failed", "Broker: Topic authorization failed"}},
		},
		{
			name: "refused login",
			lines: []string{
				"% ERROR: Local: Authentication failure: sasl_plaintext://127.0.0.1:9092/bootstrap: SASL authentication error: Authentication failed",
				"% FATAL CLIENT ERROR: Local: Fatal error: Failed to acquire idempotence PID: terminating",
				"% Message delivered to partition 0 (offset 0) on broker 0",
			},
			want: producerLog{delivered: 1, errors: []string{
				"Local: Authentication failure: sasl_plaintext://127.0.0.1:9092/bootstrap: SASL authentication error: Authentication failed",
				"FATAL CLIENT ERROR: Local: Fatal error: Failed to acquire idempotence PID: terminating",
			}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseProducerLog(tc.lines)
			if got.delivered != tc.want.delivered || got.committed != tc.want.committed ||
				!slices.Equal(got.failed, tc.want.failed) || !slices.Equal(got.errors, tc.want.errors) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if err := got.check(context.Background(), 2); (err == nil) != tc.ok {
				t.Errorf("check: %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestKcatDebugLines(t *testing.T) {
	const (
		msgset = "%7|1795662901.809|MSGSET|rdkafka#producer-1| [thrd:sasl_plaintext://127.0.0.1:9093/0]: " +
			"sasl_plaintext://127.0.0.1:9093/0: tx1 [0]: MessageSet with 2 message(s) (MsgId 1, BaseSeq 0) delivered"
		produce = "%7|1795662901.809|PRODUCE|rdkafka#producer-1| [thrd:sasl_plaintext://127.0.0.1:9093/0]: " +
			"sasl_plaintext://127.0.0.1:9093/0: tx1 [0]: Produce MessageSet with 2 message(s) (83 bytes, ApiVersion 7, MsgVersion 2, MsgId 1, BaseSeq 0)"
		committed = "%7|1795662949.275|COMMIT|rdkafka#consumer-1| [thrd:main]: GroupCoordinator/0: " +
			"OffsetCommit for 10 partition(s) in join-state wait-unassign-to-complete: unassigned partitions: returned: Success"
		refused = "%7|1795662949.275|COMMIT|rdkafka#consumer-1| [thrd:main]: GroupCoordinator/0: " +
			"OffsetCommit for 3 partition(s) in join-state steady: cgrp auto commit timer: returned: Broker: Group authorization failed"
		committing = "%7|1795662949.274|COMMIT|rdkafka#consumer-1| [thrd:main]: GroupCoordinator/0: " +
			"Committing offsets for 2 partition(s) with generation-id 1 in join-state wait-unassign-to-complete: unassigned partitions"
	)
	if n, ok := kcatMsgSetDelivered(msgset); !ok || n != 2 {
		t.Errorf("MSGSET line: got %d, %v; want 2, true", n, ok)
	}
	if n, ok := kcatMsgSetDelivered(produce); ok {
		t.Errorf("PRODUCE line read as delivered (%d)", n)
	}
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{committing, committed}, "Success"},
		{[]string{committed, refused}, "Broker: Group authorization failed"},
		{[]string{committing, produce}, ""},
	} {
		if got := lastCommit(tc.lines); got != tc.want {
			t.Errorf("lastCommit(%q) = %q, want %q", tc.lines, got, tc.want)
		}
	}
	for line, want := range map[string]bool{
		"% Delivery failed for message: Broker: Topic authorization failed": true,
		msgset:     true,
		committed:  true,
		produce:    false,
		committing: false,
	} {
		if got := kcatLogKeeps(line); got != want {
			t.Errorf("kcatLogKeeps(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestLineWriter(t *testing.T) {
	var seen []string
	w := &lineWriter{onLine: func(l string) { seen = append(seen, l) }}
	for _, chunk := range []string{"% Reading conf", "iguration\n% Using transactional producer\r\n", "\n% Abort", "ing"} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	complete := []string{"% Reading configuration", "% Using transactional producer", ""}
	if !slices.Equal(seen, complete) {
		t.Errorf("onLine saw %q, want %q", seen, complete)
	}
	if got, want := w.Lines(), append(complete, "% Aborting"); !slices.Equal(got, want) {
		t.Errorf("Lines() = %q, want %q", got, want)
	}
}
