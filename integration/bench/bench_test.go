package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
)

func TestParseCPUTicks(t *testing.T) {
	// A command name with spaces and parentheses, as the kernel prints it.
	stat := "4242 (kafka (auth) proxy) S 1 4242 4242 0 -1 4194560 1203 0 0 0 731 129 0 0 20 0 9 0 12345 0 0\n"
	got, err := parseCPUTicks([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if got != 731+129 {
		t.Fatalf("ticks = %d, want %d", got, 731+129)
	}
	if _, err := parseCPUTicks([]byte("4242 (x) S 1 2")); err == nil {
		t.Fatal("short line: no error")
	}
}

func TestParseCPUTicksSelf(t *testing.T) {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if _, err := parseCPUTicks(data); err != nil {
		t.Fatal(err)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRoundOrder(t *testing.T) {
	three := []path{pathDirect, pathProxy, pathProxyAuth}
	for round, want := range map[int][]path{
		1: {pathDirect, pathProxy, pathProxyAuth},
		2: {pathProxy, pathProxyAuth, pathDirect},
		3: {pathProxyAuth, pathDirect, pathProxy},
		4: {pathDirect, pathProxy, pathProxyAuth},
	} {
		if got := roundOrder(three, round); !slices.Equal(got, want) {
			t.Errorf("round %d: %v, want %v", round, got, want)
		}
	}
	// Two paths alternate as they always did.
	two := []path{pathDirect, pathProxy}
	if got := roundOrder(two, 2); !slices.Equal(got, []path{pathProxy, pathDirect}) {
		t.Errorf("two paths, round 2: %v", got)
	}
	if !slices.Equal(three, []path{pathDirect, pathProxy, pathProxyAuth}) {
		t.Errorf("roundOrder changed its argument: %v", three)
	}
}

// legalTopic is Kafka's topic name syntax.
var legalTopic = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

func TestTopicNames(t *testing.T) {
	names := runNames(options{warmupMiB: 64, rounds: 3})
	if want := []string{"warm-up", "round 1", "round 2", "round 3"}; !slices.Equal(names, want) {
		t.Fatalf("runNames = %q, want %q", names, want)
	}
	if names := runNames(options{rounds: 1}); !slices.Equal(names, []string{"round 1"}) {
		t.Fatalf("no warm-up: runNames = %q", names)
	}
	seen := map[string]bool{}
	for _, name := range names {
		for _, p := range []path{pathDirect, pathProxy, pathProxyAuth} {
			topic := topicName(name, p)
			if !legalTopic.MatchString(topic) || seen[topic] {
				t.Errorf("topicName(%q, %q) = %q: illegal or repeated", name, p, topic)
			}
			seen[topic] = true
		}
	}
	if got := topicName(roundName(2), pathProxyAuth); got != "bench-round-2-proxy-auth" {
		t.Errorf("topic %q", got)
	}
}

func TestAuthConfigFile(t *testing.T) {
	topics := []string{"bench-warm-up-proxy-auth", "bench-round-1-proxy-auth"}
	a, err := newAuthSetup("clusterXYZ", topics)
	if err != nil {
		t.Fatal(err)
	}
	if !apikey.ValidKeyID(a.keyID) {
		t.Fatalf("key id %q", a.keyID)
	}
	data, err := a.configFile(proxyAddrs{bootstrap: "127.0.0.1:1000", brokerPortBase: 1000, metrics: "127.0.0.1:2000"},
		[]string{"127.0.0.1:9092"}, "warn")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Listener struct {
			Address        string `yaml:"address"`
			BrokerPortBase int    `yaml:"broker_port_base"`
		} `yaml:"listener"`
		Upstream struct {
			Bootstrap []string `yaml:"bootstrap"`
		} `yaml:"upstream"`
		Auth    string `yaml:"auth"`
		APIKeys struct {
			Accounts []map[string]string `yaml:"accounts"`
			Keys     []map[string]string `yaml:"keys"`
		} `yaml:"api_keys"`
		Authorization struct {
			RoleBindings []map[string]string `yaml:"role_bindings"`
		} `yaml:"authorization"`
		Metrics map[string]string `yaml:"metrics"`
		Log     map[string]string `yaml:"log"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%v in:\n%s", err, data)
	}
	if f.Auth != "sasl" || f.Listener.Address != "127.0.0.1:1000" || f.Listener.BrokerPortBase != 1000 ||
		!slices.Equal(f.Upstream.Bootstrap, []string{"127.0.0.1:9092"}) ||
		f.Metrics["address"] != "127.0.0.1:2000" || f.Log["level"] != "warn" {
		t.Errorf("unexpected settings:\n%s", data)
	}
	if len(f.APIKeys.Accounts) != 1 || f.APIKeys.Accounts[0]["id"] != "sa-bench" || len(f.APIKeys.Keys) != 1 {
		t.Fatalf("accounts and keys:\n%s", data)
	}
	k := f.APIKeys.Keys[0]
	if k["id"] != a.keyID || k["account"] != "sa-bench" || k["cluster"] != "clusterXYZ" {
		t.Errorf("key %v", k)
	}
	// The proxy turns $$ into $ when it loads the file.
	h, err := apikey.ParseHash(strings.ReplaceAll(k["secret_hash"], "$$", "$"))
	if err != nil {
		t.Fatalf("secret_hash %q: %v", k["secret_hash"], err)
	}
	if !h.Verify(a.secret) {
		t.Error("secret_hash does not verify the secret")
	}
	var got []string
	for _, b := range f.Authorization.RoleBindings {
		if b["principal"] != "User:sa-bench" {
			t.Errorf("binding %v", b)
		}
		got = append(got, fmt.Sprintf("%s %s %s %s", b["role"], b["resource_type"], b["name"], b["pattern"]))
	}
	want := []string{
		"DeveloperWrite topic bench-warm-up-proxy-auth literal",
		"DeveloperRead topic bench-warm-up-proxy-auth literal",
		"DeveloperWrite topic bench-round-1-proxy-auth literal",
		"DeveloperRead topic bench-round-1-proxy-auth literal",
		"DeveloperRead group bench- prefixed",
	}
	if !slices.Equal(got, want) {
		t.Errorf("role bindings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestReport(t *testing.T) {
	w := &workload{recordSize: 1024, records: 1 << 20, partitions: 6} // 1 GiB
	rounds := []roundResult{
		{direct: phaseResult{produce: 4 * time.Second, consume: time.Second},
			proxy: phaseResult{produce: 5 * time.Second, consume: 2 * time.Second, produceCPU: time.Second, consumeCPU: time.Second},
			auth:  phaseResult{produce: 10 * time.Second, consume: 4 * time.Second, produceCPU: 2 * time.Second, consumeCPU: 4 * time.Second}},
	}
	var out bytes.Buffer
	writeReport(&out, reportInput{kafkaVersion: "4.4.0", dataPlace: "memory", w: w,
		paths: []path{pathDirect, pathProxy, pathProxyAuth}, rounds: rounds})
	for _, line := range []string{
		"produce throughput ratio (proxy/direct): 0.80",
		"consume throughput ratio (proxy/direct): 0.50",
		"proxy CPU seconds per GB forwarded: 1.00",
		"median MB/s, proxy+auth: produce 102.4, consume 256.0",
		"produce throughput ratio (proxy+auth/proxy): 0.50",
		"consume throughput ratio (proxy+auth/proxy): 0.50",
		"proxy+auth CPU seconds per GB forwarded: 3.00",
		"proxy+auth CPU seconds per GB by phase: produce 2.00, consume 4.00",
	} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("no line %q in:\n%s", line, out.String())
		}
	}
	if !regexp.MustCompile(`(?m)^ +1 +proxy\+auth +102\.4 +256\.0 +2\.00 +4\.00$`).MatchString(out.String()) {
		t.Errorf("no proxy+auth row in:\n%s", out.String())
	}

	out.Reset()
	writeReport(&out, reportInput{kafkaVersion: "4.4.0", dataPlace: "memory", w: w,
		paths: []path{pathDirect, pathProxy}, rounds: rounds})
	if strings.Contains(out.String(), "proxy+auth") {
		t.Errorf("proxy+auth reported without that path:\n%s", out.String())
	}
}
