package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
)

// minimal is the smallest valid configuration.
const minimal = `auth: none
upstream:
  bootstrap: [127.0.0.1:19092]
`

func mustParse(t *testing.T, yaml string, env LookupFunc) *Config {
	t.Helper()
	cfg, err := ParseWithEnv([]byte(yaml), "test.yaml", env)
	if err != nil {
		t.Fatalf("unexpected problems:\n%v", err)
	}
	return cfg
}

// problemsOf parses yaml and returns its problems, failing the test if the
// error is not a *ProblemsError.
func problemsOf(t *testing.T, yaml string, env LookupFunc) []Problem {
	t.Helper()
	cfg, err := ParseWithEnv([]byte(yaml), "test.yaml", env)
	if err == nil {
		return nil
	}
	if cfg != nil {
		t.Errorf("ParseWithEnv returned a config along with an error")
	}
	var pe *ProblemsError
	if !errors.As(err, &pe) {
		t.Fatalf("error is %T, want *ProblemsError: %v", err, err)
	}
	if pe.Source != "test.yaml" {
		t.Errorf("ProblemsError.Source = %q, want test.yaml", pe.Source)
	}
	return pe.Problems
}

func assertProblems(t *testing.T, yaml string, env LookupFunc, want []Problem) {
	t.Helper()
	got := problemsOf(t, yaml, env)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n got %s\nwant %s", formatProblems(got), formatProblems(want))
	}
}

func formatProblems(ps []Problem) string {
	if len(ps) == 0 {
		return "none"
	}
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// A full configuration, every key set, decodes to exactly what it says.
func TestParseFullConfig(t *testing.T) {
	certFile, keyFile, caFile := writeTestPKI(t)
	hash, err := apikey.HashSecret(strings.Repeat("secret", 10))
	if err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, `
listener:
  name: internal
  address: 0.0.0.0:19092
  advertised_host: proxy.example.com
  broker_port_base: 29000
  sasl_mechanisms: [plain, OAUTHBEARER]
  tls:
    cert_file: `+certFile+`
    key_file: `+keyFile+`
    client_ca_file: `+caFile+`
extra_listeners:
  - name: external
    address: 0.0.0.0:19093
    advertised_host: kafka.example.com
    broker_port_base: 30000
    tls:
      cert_file: `+certFile+`
      key_file: `+keyFile+`
    sasl_mechanisms: [OAUTHBEARER]
upstream:
  bootstrap:
    - kafka-1.internal:9093
    - kafka-2.internal:9093
    - "[2001:db8::1]:9093"
  tls:
    ca_file: `+caFile+`
    cert_file: `+certFile+`
    key_file: `+keyFile+`
    server_name: kafka.internal
    insecure_skip_verify: false
  sasl:
    mechanism: scram-sha-512
    username: kafka-auth-proxy
    password: hunter2
  dial_timeout: 5s
  metadata_refresh: 1m
auth: sasl
authentication:
  cluster_id: lkc-prod1
  max_session_lifetime: 1h
  timeout: 5s
  failure_delay: 1s
  failure_window: 2m
  max_failures_per_source: 5
  max_failures_per_key: 3
api_keys:
  state_file: /var/lib/kafka-auth-proxy/state.json
  state_poll_interval: 2s
  accounts:
    - id: sa-payments
      description: payments
    - id: u-alice
  keys:
    - id: ABCDEFGHJKLMNPQ2
      secret_hash: `+hash+`
      account: sa-payments
      cluster: lkc-prod1
      description: producer
oidc:
  max_token_bytes: 8192
  providers:
    - name: corp
      issuer: https://login.example.com/realms/kafka
      jwks_uri: https://login.example.com/realms/kafka/certs
      audiences: [kafka, kafka-prod]
      clock_skew: 10s
      algorithms: [RS256, ES256]
      jwks_refresh: 30m
      jwks_min_refresh_interval: 5s
      ca_file: `+caFile+`
  identity_pools:
    - id: pool-payments
      provider: corp
      identity_claim: claims.client_id
      filter: '"payments" in claims.groups'
      description: payments apps
audit:
  output: stdout
limits:
  max_request_bytes: 1_048_576
  max_response_bytes: 2147483647
  max_in_flight: 100000
metrics:
  address: ":9404"
log:
  level: warn
  format: console
shutdown_timeout: 1m30s
`, envMap())
	want := &Config{
		Listener: Listener{
			Name:           "internal",
			Address:        "0.0.0.0:19092",
			AdvertisedHost: "proxy.example.com",
			BrokerPortBase: 29000,
			TLS:            &ServerTLS{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile},
			SASLMechanisms: []string{ClientPlain, ClientOAuthBearer},
		},
		ExtraListeners: []Listener{{
			Name:           "external",
			Address:        "0.0.0.0:19093",
			AdvertisedHost: "kafka.example.com",
			BrokerPortBase: 30000,
			TLS:            &ServerTLS{CertFile: certFile, KeyFile: keyFile},
			SASLMechanisms: []string{ClientOAuthBearer},
		}},
		Upstream: Upstream{
			Bootstrap:       []string{"kafka-1.internal:9093", "kafka-2.internal:9093", "[2001:db8::1]:9093"},
			TLS:             &ClientTLS{CAFile: caFile, CertFile: certFile, KeyFile: keyFile, ServerName: "kafka.internal"},
			SASL:            &SASL{Mechanism: MechanismScramSHA512, Username: "kafka-auth-proxy", Password: "hunter2"},
			DialTimeout:     Duration(5 * time.Second),
			MetadataRefresh: Duration(time.Minute),
		},
		Auth: AuthSASL,
		Authentication: Authentication{
			ClusterID: "lkc-prod1", MaxSessionLifetime: Duration(time.Hour), Timeout: Duration(5 * time.Second),
			FailureDelay: Duration(time.Second), FailureWindow: Duration(2 * time.Minute), MaxFailuresPerSource: 5, MaxFailuresPerKey: 3, MaxFailuresPerSecond: 200,
		},
		APIKeys: APIKeys{
			StateFile: "/var/lib/kafka-auth-proxy/state.json", StatePollInterval: Duration(2 * time.Second),
			Accounts: []Account{{ID: "sa-payments", Description: "payments"}, {ID: "u-alice"}},
			Keys:     []APIKey{{ID: "ABCDEFGHJKLMNPQ2", SecretHash: hash, Account: "sa-payments", Cluster: "lkc-prod1", Description: "producer"}},
		},
		OIDC: OIDC{
			MaxTokenBytes: 8192,
			Providers: []OIDCProvider{{
				Name: "corp", Issuer: "https://login.example.com/realms/kafka", JWKSURI: "https://login.example.com/realms/kafka/certs",
				Audiences: []string{"kafka", "kafka-prod"}, ClockSkew: Duration(10 * time.Second), Algorithms: []string{"RS256", "ES256"},
				JWKSRefresh: Duration(30 * time.Minute), JWKSMinRefreshInterval: Duration(5 * time.Second), CAFile: caFile,
			}},
			IdentityPools: []IdentityPool{{ID: "pool-payments", Provider: "corp", IdentityClaim: "claims.client_id", Filter: `"payments" in claims.groups`, Description: "payments apps"}},
		},
		Audit:           Audit{Output: "stdout"},
		Limits:          Limits{MaxRequestBytes: 1 << 20, MaxResponseBytes: 1<<31 - 1, MaxInFlight: 100000},
		Metrics:         Metrics{Address: ":9404"},
		Organization:    Organization{ID: "org-default", Environment: "env-default"},
		Admin:           Admin{MaxBodyBytes: 1 << 20},
		Log:             Log{Level: "warn", Format: "console"},
		ShutdownTimeout: Duration(90 * time.Second),
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("full config:\n got %+v\nwant %+v", cfg, want)
	}
}

// Keys left out keep their defaults; values derived from others are filled
// by Normalize.
func TestDefaults(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		edit func(want *Config) // applied to Default() with auth and bootstrap set
	}{
		{
			name: "minimal file: all defaults, broker ports follow the bootstrap port",
			yaml: minimal,
			edit: func(w *Config) { w.Listener.AdvertisedHost = "127.0.0.1"; w.Listener.BrokerPortBase = 9093 },
		},
		{
			name: "advertised host is the listener host",
			yaml: minimal + "listener:\n  address: 10.1.2.3:9000\n",
			edit: func(w *Config) {
				w.Listener.Address = "10.1.2.3:9000"
				w.Listener.AdvertisedHost = "10.1.2.3"
				w.Listener.BrokerPortBase = 9001
			},
		},
		{
			name: "0.0.0.0 is advertised as 127.0.0.1",
			yaml: minimal + "listener:\n  address: 0.0.0.0:9092\n",
			edit: func(w *Config) {
				w.Listener.Address = "0.0.0.0:9092"
				w.Listener.AdvertisedHost = "127.0.0.1"
				w.Listener.BrokerPortBase = 9093
			},
		},
		{
			name: "an empty host is advertised as 127.0.0.1",
			yaml: minimal + "listener:\n  address: \":9092\"\n",
			edit: func(w *Config) {
				w.Listener.Address = ":9092"
				w.Listener.AdvertisedHost = "127.0.0.1"
				w.Listener.BrokerPortBase = 9093
			},
		},
		{
			name: "the IPv6 wildcard is advertised as 127.0.0.1",
			yaml: minimal + "listener:\n  address: \"[::]:9092\"\n",
			edit: func(w *Config) {
				w.Listener.Address = "[::]:9092"
				w.Listener.AdvertisedHost = "127.0.0.1"
				w.Listener.BrokerPortBase = 9093
			},
		},
		{
			name: "explicit advertised host and broker port base are kept",
			yaml: minimal + "listener:\n  advertised_host: proxy.example.com\n  broker_port_base: 30000\n",
			edit: func(w *Config) { w.Listener.AdvertisedHost = "proxy.example.com"; w.Listener.BrokerPortBase = 30000 },
		},
		{
			name: "port 0 is allowed when broker_port_base is set",
			yaml: minimal + "listener:\n  address: 127.0.0.1:0\n  broker_port_base: 30000\n",
			edit: func(w *Config) {
				w.Listener.Address = "127.0.0.1:0"
				w.Listener.AdvertisedHost = "127.0.0.1"
				w.Listener.BrokerPortBase = 30000
			},
		},
		{
			name: "an empty section keeps its defaults",
			yaml: minimal + "limits:\nlog: {}\n",
			edit: func(w *Config) { w.Listener.AdvertisedHost = "127.0.0.1"; w.Listener.BrokerPortBase = 9093 },
		},
		{
			name: "an empty TLS or SASL section is off",
			yaml: minimal + "listener:\n  tls:\n",
			edit: func(w *Config) { w.Listener.AdvertisedHost = "127.0.0.1"; w.Listener.BrokerPortBase = 9093 },
		},
		{
			name: "an empty string disables metrics",
			yaml: minimal + "metrics:\n  address: \"\"\n",
			edit: func(w *Config) {
				w.Listener.AdvertisedHost = "127.0.0.1"
				w.Listener.BrokerPortBase = 9093
				w.Metrics.Address = ""
			},
		},
		{
			name: "case-insensitive values are stored in canonical case",
			yaml: `auth: None
upstream:
  bootstrap: [127.0.0.1:19092]
  sasl: {mechanism: scram-sha-256, username: u, password: p}
log: {level: DEBUG, format: Console}
`,
			edit: func(w *Config) {
				w.Listener.AdvertisedHost = "127.0.0.1"
				w.Listener.BrokerPortBase = 9093
				w.Upstream.SASL = &SASL{Mechanism: MechanismScramSHA256, Username: "u", Password: "p"}
				w.Log = Log{Level: "debug", Format: "console"}
			},
		},
		{
			name: "bootstrap may be one comma-separated string",
			yaml: "auth: none\nupstream:\n  bootstrap: \"a:9092,b:9092 , c:9092\"\n",
			edit: func(w *Config) {
				w.Listener.AdvertisedHost = "127.0.0.1"
				w.Listener.BrokerPortBase = 9093
				w.Upstream.Bootstrap = []string{"a:9092", "b:9092", "c:9092"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.yaml, envMap())
			want := Default()
			want.Auth = AuthNone
			want.Upstream.Bootstrap = []string{"127.0.0.1:19092"}
			tt.edit(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestMergeKeys(t *testing.T) {
	cfg := mustParse(t, `auth: none
upstream:
  bootstrap: [127.0.0.1:19092]
  sasl:
    <<: {mechanism: PLAIN, username: base, password: base}
    username: own
`, envMap())
	want := &SASL{Mechanism: MechanismPlain, Username: "own", Password: "base"}
	if !reflect.DeepEqual(cfg.Upstream.SASL, want) {
		t.Errorf("merged sasl = %+v, want %+v", cfg.Upstream.SASL, want)
	}
}

// Decoding is strict: unknown keys and values of the wrong type are problems
// with their key path and line.
func TestDecodeProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []Problem
	}{
		{
			name: "misspelt key gets a suggestion",
			yaml: `auth: none
upstream:
  bootstrap: [127.0.0.1:19092]
  dial_timeot: 5s
`,
			want: []Problem{{Path: "upstream.dial_timeot", Line: 4, Message: `unknown key (did you mean "dial_timeout"?)`}},
		},
		{
			name: "misspelt required key: both the unknown key and the missing one",
			yaml: `auth: none
upstream:
  bootstrapp: [127.0.0.1:19092]
`,
			want: []Problem{
				// A missing key is reported on the line of its section.
				{Path: "upstream.bootstrap", Line: 2, Message: "required: list the host:port of one or more upstream brokers"},
				{Path: "upstream.bootstrapp", Line: 3, Message: `unknown key (did you mean "bootstrap"?)`},
			},
		},
		{
			name: "camelCase key",
			yaml: minimal + "listener:\n  brokerPortBase: 9100\n",
			want: []Problem{{Path: "listener.brokerPortBase", Line: 5, Message: `unknown key (did you mean "broker_port_base"?)`}},
		},
		{
			name: "unknown key far from any valid one lists the valid keys",
			yaml: minimal + "log:\n  colour: true\n",
			want: []Problem{{Path: "log.colour", Line: 5, Message: "unknown key (valid keys here: level, format)"}},
		},
		{
			name: "unknown top-level key",
			yaml: minimal + "authz: acl\n",
			want: []Problem{{Path: "authz", Line: 4, Message: `unknown key (did you mean "auth"?)`}},
		},
		{
			name: "duplicate key",
			yaml: minimal + "log:\n  level: info\n  level: debug\n",
			want: []Problem{{Path: "log.level", Line: 6, Message: "duplicate key (first set on line 5)"}},
		},
		{
			name: "string where an integer is expected",
			yaml: minimal + "limits:\n  max_in_flight: lots\n",
			want: []Problem{{Path: "limits.max_in_flight", Line: 5, Message: `must be an integer; got "lots"`}},
		},
		{
			name: "fraction where an integer is expected",
			yaml: minimal + "limits:\n  max_in_flight: 1.5\n",
			want: []Problem{{Path: "limits.max_in_flight", Line: 5, Message: `must be an integer; got "1.5"`}},
		},
		{
			name: "integer too large",
			yaml: minimal + "limits:\n  max_request_bytes: 99999999999999999999\n",
			want: []Problem{{Path: "limits.max_request_bytes", Line: 5, Message: "integer 99999999999999999999 is out of range"}},
		},
		{
			name: "duration without a unit",
			yaml: minimal + "shutdown_timeout: 30\n",
			want: []Problem{{Path: "shutdown_timeout", Line: 4, Message: `invalid duration "30" (use e.g. 500ms, 10s, 1m)`}},
		},
		{
			name: "duration that is not one",
			yaml: "auth: none\nupstream:\n  bootstrap: [127.0.0.1:19092]\n  dial_timeout: soon\n",
			want: []Problem{{Path: "upstream.dial_timeout", Line: 4, Message: `invalid duration "soon" (use e.g. 500ms, 10s, 1m)`}},
		},
		{
			name: "bad boolean",
			yaml: minimal + "  tls:\n    insecure_skip_verify: maybe\n",
			want: []Problem{{Path: "upstream.tls.insecure_skip_verify", Line: 5, Message: `must be true or false; got "maybe"`}},
		},
		{
			name: "mapping where a string is expected",
			yaml: "auth: {mode: none}\nupstream:\n  bootstrap: [127.0.0.1:19092]\n",
			want: []Problem{{Path: "auth", Line: 1, Message: "must be a string; got a mapping"}},
		},
		{
			name: "string where a section is expected",
			yaml: minimal + "listener: 127.0.0.1:9092\n",
			want: []Problem{{Path: "listener", Line: 4, Message: `must be a mapping with the keys name, address, advertised_host, broker_port_base, tls, sasl_mechanisms, proxy_protocol, trusted_proxies; got "127.0.0.1:9092"`}},
		},
		{
			name: "mapping where a list is expected",
			yaml: "auth: none\nupstream:\n  bootstrap:\n    host: kafka\n",
			want: []Problem{{Path: "upstream.bootstrap", Line: 4, Message: "must be a list; got a mapping"}},
		},
		{
			name: "list where a string is expected, inside a list",
			yaml: "auth: none\nupstream:\n  bootstrap:\n    - [a, b]\n",
			want: []Problem{{Path: "upstream.bootstrap[0]", Line: 4, Message: "must be a string; got a list"}},
		},
		{
			name: "YAML syntax error",
			yaml: "auth: none\nupstream:\n  bootstrap: [127.0.0.1:19092\nlog:\n",
			// The line where the unclosed list starts.
			want: []Problem{{Line: 3, Message: "invalid YAML: did not find expected ',' or ']'"}},
		},
		{
			name: "tabs are a syntax error",
			yaml: "auth: none\nupstream:\n\tbootstrap: []\n",
			want: []Problem{{Line: 3, Message: "invalid YAML: found character that cannot start any token"}},
		},
		{
			name: "top level must be a mapping",
			yaml: "- auth: none\n",
			want: []Problem{{Line: 1, Message: "must be a mapping with the keys listener, extra_listeners, upstream, auth, authentication, api_keys, oidc, authorization, audit, limits, metrics, organization, admin, log, shutdown_timeout; got a list"}},
		},
		{
			name: "an empty file needs auth and bootstrap",
			yaml: "# nothing here\n",
			want: []Problem{
				{Path: "auth", Message: `"sasl" needs credentials: declare api_keys (keys or a state_file) or oidc.identity_pools, or set auth: none for development`},
				{Path: "upstream.bootstrap", Message: "required: list the host:port of one or more upstream brokers"},
			},
		},
		{
			name: "duration left empty",
			yaml: minimal + "shutdown_timeout:\n",
			want: []Problem{{Path: "shutdown_timeout", Line: 4, Message: "must be a value such as 500ms, 10s or 1m; got an empty value"}},
		},
		{
			name: "unknown key brought in by a merge key",
			yaml: minimal + "log:\n  <<: {level: info, colour: true}\n",
			want: []Problem{{Path: "log.colour", Line: 5, Message: "unknown key (valid keys here: level, format)"}},
		},
		{
			name: "merge key with a scalar",
			yaml: minimal + "log:\n  <<: info\n",
			want: []Problem{{Path: "log.<<", Line: 5, Message: `a merge key needs a mapping or a list of mappings; got "info"`}},
		},
		{
			name: "a single document only",
			yaml: minimal + "---\nauth: none\n",
			want: []Problem{{Line: 4, Message: "more than one YAML document; the configuration must be a single document"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertProblems(t, tt.yaml, envMap(), tt.want)
		})
	}
}

// Parse and Load read variables from the process environment.
func TestParseUsesProcessEnvironment(t *testing.T) {
	t.Setenv("KAP_TEST_BOOTSTRAP", "127.0.0.1:29092")
	cfg, err := Parse([]byte("auth: none\nupstream:\n  bootstrap: [\"${KAP_TEST_BOOTSTRAP}\"]\n"), "env.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Upstream.Bootstrap; len(got) != 1 || got[0] != "127.0.0.1:29092" {
		t.Errorf("bootstrap = %q", got)
	}
}

func TestLoadAndCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("auth: basic\nlimits:\n  max_in_flight: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("Load returns the config", func(t *testing.T) {
		cfg, err := Load(good)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Listener.BrokerPortBase != 9093 {
			t.Errorf("Load did not normalise: broker_port_base = %d", cfg.Listener.BrokerPortBase)
		}
	})
	t.Run("Load names the file in every problem line", func(t *testing.T) {
		_, err := Load(bad)
		want := bad + `:1: auth: must be one of sasl, none; got "basic"` + "\n" +
			bad + ":3: limits.max_in_flight: must be between 1 and 100000; got 0\n" +
			bad + ": upstream.bootstrap: required: list the host:port of one or more upstream brokers"
		if err == nil || err.Error() != want {
			t.Errorf("Load error:\n got %v\nwant %s", err, want)
		}
	})
	t.Run("a missing file is a plain error", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "missing.yaml"))
		var pe *ProblemsError
		if !errors.Is(err, os.ErrNotExist) || errors.As(err, &pe) {
			t.Errorf("Load(missing) = %v, want a not-exist error", err)
		}
	})
	t.Run("Check of a valid file", func(t *testing.T) {
		if ps := Check(good); ps != nil {
			t.Errorf("Check(good) = %v", ps)
		}
	})
	t.Run("Check lists every problem", func(t *testing.T) {
		if ps := Check(bad); len(ps) != 3 {
			t.Errorf("Check(bad) = %s, want 3 problems", formatProblems(ps))
		}
	})
	t.Run("Check of a missing file is one problem", func(t *testing.T) {
		ps := Check(filepath.Join(dir, "missing.yaml"))
		if len(ps) != 1 || ps[0].Path != "" || ps[0].Line != 0 || !strings.Contains(ps[0].Message, "no such file") {
			t.Errorf("Check(missing) = %s", formatProblems(ps))
		}
	})
}

func TestProblemFormat(t *testing.T) {
	tests := []struct {
		p      Problem
		source string
		want   string
	}{
		{Problem{Path: "upstream.bootstrap[0]", Line: 12, Message: "bad"}, "proxy.yaml", "proxy.yaml:12: upstream.bootstrap[0]: bad"},
		{Problem{Path: "auth", Message: "required"}, "proxy.yaml", "proxy.yaml: auth: required"},
		{Problem{Line: 3, Message: "invalid YAML"}, "proxy.yaml", "proxy.yaml:3: invalid YAML"},
		{Problem{Path: "auth", Line: 3, Message: "bad"}, "", "line 3: auth: bad"},
		{Problem{Path: "auth", Message: "bad"}, "", "auth: bad"},
	}
	for _, tt := range tests {
		if got := tt.p.Describe(tt.source); got != tt.want {
			t.Errorf("Describe(%q) = %q, want %q", tt.source, got, tt.want)
		}
	}
	e := &ProblemsError{Source: "p.yaml", Problems: []Problem{{Path: "a", Line: 1, Message: "x"}, {Path: "b", Message: "y"}}}
	if got, want := e.Error(), "p.yaml:1: a: x\np.yaml: b: y"; got != want {
		t.Errorf("ProblemsError.Error() = %q, want %q", got, want)
	}
}
