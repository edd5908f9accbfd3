package config

import (
	"errors"
	"reflect"
	"testing"
)

// Each rule, with the key path and line of the problem it reports. The files
// below start from minimal (3 lines), so added keys start on line 4.
func TestValidationProblems(t *testing.T) {
	const (
		authRequired   = `required: "sasl" (clients log in) or "none" (development only)`
		needsKeysOrIDP = `"sasl" needs credentials: declare api_keys (keys or a state_file) or oidc.identity_pools, or set auth: none for development`
	)
	tests := []struct {
		name string
		yaml string
		want []Problem
	}{
		// auth
		{
			name: "auth defaults to sasl, which needs credentials; the problem has no line when the key is absent",
			yaml: "upstream:\n  bootstrap: [127.0.0.1:19092]\n",
			want: []Problem{{Path: "auth", Line: 0, Message: needsKeysOrIDP}},
		},
		{
			name: "auth set to an empty string",
			yaml: "auth: \"\"\nupstream:\n  bootstrap: [127.0.0.1:19092]\n",
			want: []Problem{{Path: "auth", Line: 1, Message: authRequired}},
		},
		{
			name: "unknown auth mode lists the accepted ones",
			yaml: "auth: oauth\nupstream:\n  bootstrap: [127.0.0.1:19092]\n",
			want: []Problem{{Path: "auth", Line: 1, Message: `must be one of sasl, none; got "oauth"`}},
		},

		// authorization
		{
			name: "authorization: the sample rate is a fraction (entries are the command's to check)",
			yaml: "auth: none\nupstream:\n  bootstrap: [127.0.0.1:19092]\nauthorization:\n  super_users: [sa-admin]\n  audit_allowed_sample_rate: 2\n",
			want: []Problem{
				{Path: "authorization.audit_allowed_sample_rate", Line: 6, Message: "must be between 0 and 1; got 2"},
			},
		},

		// authentication
		{
			name: "accounts and keys are checked",
			yaml: "upstream:\n  bootstrap: [127.0.0.1:19092]\napi_keys:\n  accounts:\n    - id: payments\n  keys:\n    - id: short\n      account: sa-nobody\n",
			want: []Problem{
				{Path: "api_keys.accounts[0].id", Line: 5, Message: `must be sa-… (service account) or u-… (user account), lower-case letters, digits and dashes; got "payments"`},
				{Path: "api_keys.keys[0].secret_hash", Line: 7, Message: "required when a key is declared: the output of `kafka-auth-proxy api-key hash`"},
				{Path: "api_keys.keys[0].cluster", Line: 7, Message: "required when a key is declared (keys are scoped to one cluster id)"},
				{Path: "api_keys.keys[0].account", Line: 8, Message: `account "sa-nobody" is not declared in api_keys.accounts`},
			},
		},
		{
			name: "providers refuse symmetric algorithms and need audiences",
			yaml: "upstream:\n  bootstrap: [127.0.0.1:19092]\noidc:\n  providers:\n    - name: corp\n      issuer: login.example.com\n      algorithms: [HS256, none, RS256]\n  identity_pools:\n    - id: pool-a\n      provider: corp\n      filter: 'true'\n",
			want: []Problem{
				{Path: "oidc.providers[0].audiences", Line: 5, Message: "required: the aud values a token may carry (at least one)"},
				{Path: "oidc.providers[0].issuer", Line: 6, Message: `must be an absolute http(s) URL; got "login.example.com"`},
				{Path: "oidc.providers[0].algorithms[0]", Line: 7, Message: `"HS256" is refused: only asymmetric algorithms are safe against public JWKS keys (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)`},
				{Path: "oidc.providers[0].algorithms[1]", Line: 7, Message: `"none" is refused: only asymmetric algorithms are safe against public JWKS keys (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)`},
			},
		},
		{
			name: "identity pools need a declared provider and a filter",
			yaml: "upstream:\n  bootstrap: [127.0.0.1:19092]\noidc:\n  providers:\n    - name: corp\n      issuer: https://idp\n      audiences: [kafka]\n  identity_pools:\n    - id: pool-a\n      provider: other\n      filter: ' '\n",
			want: []Problem{
				{Path: "oidc.identity_pools[0].provider", Line: 10, Message: `provider "other" is not declared in oidc.providers`},
				{Path: "oidc.identity_pools[0].filter", Line: 11, Message: `required: a CEL expression over claims, e.g. claims.aud == "kafka" && "payments" in claims.groups`},
			},
		},
		{
			name: "an enabled mechanism needs its credentials",
			yaml: "upstream:\n  bootstrap: [127.0.0.1:19092]\nlistener:\n  sasl_mechanisms: [OAUTHBEARER, SCRAM-SHA-256]\napi_keys:\n  state_file: /tmp/state.json\n",
			want: []Problem{
				{Path: "listener.sasl_mechanisms[1]", Line: 4, Message: `must be one of PLAIN, OAUTHBEARER; got "SCRAM-SHA-256"`},
				{Path: "listener.sasl_mechanisms", Line: 4, Message: "OAUTHBEARER is enabled but no identity pool is declared in oidc.identity_pools"},
			},
		},

		// extra listeners
		{
			name: "extra listeners need distinct names and ports, and credentials for their mechanisms",
			yaml: minimal + "extra_listeners:\n  - address: 127.0.0.1:9092\n  - name: default\n    address: 127.0.0.1:9300\n  - name: External!\n    address: 127.0.0.1:9400\n",
			want: []Problem{
				{Path: "extra_listeners[0].name", Line: 5, Message: "required: extra listeners are told apart by name in logs and the audit log"},
				{Path: "extra_listeners[0].address", Line: 5, Message: "port 9092 is also the bootstrap port of listener"},
				{Path: "extra_listeners[1].name", Line: 6, Message: `"default" is also the name of listener`},
				{Path: "extra_listeners[2].name", Line: 8, Message: `must be lower-case letters, digits, _ and -; got "External!"`},
			},
		},
		{
			name: "an extra listener's mechanisms need credentials",
			yaml: "upstream:\n  bootstrap: [127.0.0.1:19092]\napi_keys:\n  state_file: /tmp/s.json\nextra_listeners:\n  - name: ext\n    address: 127.0.0.1:9300\n    sasl_mechanisms: [OAUTHBEARER]\n",
			want: []Problem{
				{Path: "extra_listeners[0].sasl_mechanisms", Line: 8, Message: "OAUTHBEARER is enabled but no identity pool is declared in oidc.identity_pools"},
			},
		},

		// PROXY protocol and trusted proxies
		{
			name: "proxy_protocol needs trusted proxies, and each must be a CIDR or an address",
			yaml: minimal + "listener:\n  proxy_protocol: true\nextra_listeners:\n  - name: lb\n    address: 127.0.0.1:9300\n    proxy_protocol: true\n    trusted_proxies: [10.0.0.0/8, 10.1.2.3/8, haproxy, \"fd00::/8\", 192.0.2.7]\n",
			want: []Problem{
				{Path: "listener.proxy_protocol", Line: 5, Message: "needs listener.trusted_proxies: the CIDRs of the load balancers whose PROXY headers are believed"},
				{Path: "extra_listeners[0].trusted_proxies[1]", Line: 10, Message: `"10.1.2.3/8" has bits set past its /8 prefix; write 10.0.0.0/8`},
				{Path: "extra_listeners[0].trusted_proxies[2]", Line: 10, Message: `"haproxy" is neither a CIDR such as 10.0.0.0/8 nor an IP address`},
			},
		},
		{
			name: "trusted proxies without proxy_protocol have no effect",
			yaml: minimal + "listener:\n  trusted_proxies: [10.0.0.0/8]\n",
			want: []Problem{{Path: "listener.trusted_proxies", Line: 5, Message: "has no effect unless listener.proxy_protocol is true"}},
		},
		{
			name: "admin trusted proxies are CIDRs, and need the admin API on",
			yaml: minimal + "admin:\n  trusted_proxies: [10.0.0.0/33]\n",
			want: []Problem{
				{Path: "admin.trusted_proxies[0]", Line: 5, Message: `"10.0.0.0/33" is not a CIDR such as 10.0.0.0/8: netip.ParsePrefix("10.0.0.0/33"): prefix length out of range`},
				{Path: "admin.trusted_proxies", Line: 5, Message: "admin.address is not set, so the admin API is off and its trusted proxies unused"},
			},
		},

		// listener
		{
			name: "listener address without a port",
			yaml: minimal + "listener:\n  address: localhost\n",
			want: []Problem{{Path: "listener.address", Line: 5, Message: `must be host:port (IPv6 as [::1]:9092); got "localhost": missing port in address`}},
		},
		{
			name: "listener address with a named port",
			yaml: minimal + "listener:\n  address: localhost:kafka\n",
			want: []Problem{{Path: "listener.address", Line: 5, Message: `port "kafka" is not a number`}},
		},
		{
			name: "listener port out of range",
			yaml: minimal + "listener:\n  address: localhost:70000\n",
			want: []Problem{{Path: "listener.address", Line: 5, Message: "port 70000 is out of range 0-65535"}},
		},
		{
			name: "listener port 0 needs an explicit broker_port_base",
			yaml: minimal + "listener:\n  address: 127.0.0.1:0\n",
			want: []Problem{{Path: "listener.address", Line: 5, Message: "port 0 (any free port) needs listener.broker_port_base set explicitly, because broker ports are otherwise derived from the bootstrap port"}},
		},
		{
			name: "broker_port_base written as 0",
			yaml: minimal + "listener:\n  broker_port_base: 0\n",
			want: []Problem{{Path: "listener.broker_port_base", Line: 5, Message: "must be between 1 and 65535; got 0 (leave it out to use the listener.address port + 1)"}},
		},
		{
			name: "broker_port_base out of range",
			yaml: minimal + "listener:\n  broker_port_base: 65536\n",
			want: []Problem{{Path: "listener.broker_port_base", Line: 5, Message: "must be between 1 and 65535; got 65536 (leave it out to use the listener.address port + 1)"}},
		},
		{
			name: "broker_port_base equal to the bootstrap port",
			yaml: minimal + "listener:\n  address: 127.0.0.1:9092\n  broker_port_base: 9092\n",
			want: []Problem{{Path: "listener.broker_port_base", Line: 6, Message: "must differ from the listener.address port 9092, which serves bootstrap connections (broker N is served on broker_port_base + N)"}},
		},
		{
			name: "advertised_host with a port",
			yaml: minimal + "listener:\n  advertised_host: proxy.example.com:9092\n",
			want: []Problem{{Path: "listener.advertised_host", Line: 5, Message: `must be a host name or IP address without a port; got "proxy.example.com:9092" (broker ports come from listener.broker_port_base)`}},
		},
		{
			name: "advertised_host may be an IPv6 address",
			yaml: minimal + "listener:\n  advertised_host: \"2001:db8::1\"\n",
			want: nil,
		},

		// upstream
		{
			name: "bootstrap missing altogether",
			yaml: "auth: none\n",
			want: []Problem{{Path: "upstream.bootstrap", Line: 0, Message: "required: list the host:port of one or more upstream brokers"}},
		},
		{
			name: "bootstrap empty",
			yaml: "auth: none\nupstream:\n  bootstrap: []\n",
			want: []Problem{{Path: "upstream.bootstrap", Line: 3, Message: "required: list the host:port of one or more upstream brokers"}},
		},
		{
			name: "every bad bootstrap entry is reported on its own line",
			yaml: "auth: none\nupstream:\n  bootstrap:\n    - kafka-1\n    - kafka-2:9092\n    - :9092\n    - kafka-4:0\n",
			want: []Problem{
				{Path: "upstream.bootstrap[0]", Line: 4, Message: `must be host:port (IPv6 as [::1]:9092); got "kafka-1": missing port in address`},
				{Path: "upstream.bootstrap[2]", Line: 6, Message: `host is missing in ":9092"`},
				{Path: "upstream.bootstrap[3]", Line: 7, Message: "port 0 is out of range 1-65535"},
			},
		},
		{
			name: "SASL mechanism must be supported",
			yaml: minimal + "  sasl:\n    mechanism: GSSAPI\n    username: u\n    password: p\n",
			want: []Problem{{Path: "upstream.sasl.mechanism", Line: 5, Message: `must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; got "GSSAPI"`}},
		},
		{
			name: "an empty SASL section needs everything",
			yaml: minimal + "  sasl: {}\n",
			want: []Problem{
				{Path: "upstream.sasl.mechanism", Line: 4, Message: "required when upstream.sasl is set; one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"},
				{Path: "upstream.sasl.username", Line: 4, Message: "required when upstream.sasl is set"},
				{Path: "upstream.sasl.password", Line: 4, Message: "required when upstream.sasl is set"},
			},
		},
		{
			name: "SASL password empty",
			yaml: minimal + "  sasl:\n    mechanism: PLAIN\n    username: proxy\n    password: \"\"\n",
			want: []Problem{{Path: "upstream.sasl.password", Line: 7, Message: "required when upstream.sasl is set"}},
		},
		{
			name: "durations must be positive",
			yaml: minimal + "  dial_timeout: 0s\n  metadata_refresh: -1m\nshutdown_timeout: 0ms\n",
			want: []Problem{
				{Path: "upstream.dial_timeout", Line: 4, Message: "must be greater than 0; got 0s"},
				{Path: "upstream.metadata_refresh", Line: 5, Message: "must be greater than 0; got -1m0s"},
				{Path: "shutdown_timeout", Line: 6, Message: "must be greater than 0; got 0s"},
			},
		},

		// limits
		{
			name: "frame sizes from 1 KiB to 2 GiB - 1",
			yaml: minimal + "limits:\n  max_request_bytes: 1023\n  max_response_bytes: 2147483648\n",
			want: []Problem{
				{Path: "limits.max_request_bytes", Line: 5, Message: "must be between 1024 (1 KiB) and 2147483647 (2 GiB - 1); got 1023"},
				{Path: "limits.max_response_bytes", Line: 6, Message: "must be between 1024 (1 KiB) and 2147483647 (2 GiB - 1); got 2147483648"},
			},
		},
		{
			name: "frame sizes at the bounds",
			yaml: minimal + "limits:\n  max_request_bytes: 1024\n  max_response_bytes: 2147483647\n",
			want: nil,
		},
		{
			name: "max_in_flight too small",
			yaml: minimal + "limits:\n  max_in_flight: 0\n",
			want: []Problem{{Path: "limits.max_in_flight", Line: 5, Message: "must be between 1 and 100000; got 0"}},
		},
		{
			name: "max_in_flight too large",
			yaml: minimal + "limits:\n  max_in_flight: 100001\n",
			want: []Problem{{Path: "limits.max_in_flight", Line: 5, Message: "must be between 1 and 100000; got 100001"}},
		},

		// metrics and log
		{
			name: "metrics address must be host:port",
			yaml: minimal + "metrics:\n  address: \"9404\"\n",
			want: []Problem{{Path: "metrics.address", Line: 5, Message: `must be host:port (IPv6 as [::1]:9092); got "9404": missing port in address`}},
		},
		{
			name: "metrics on any free port",
			yaml: minimal + "metrics:\n  address: 127.0.0.1:0\n",
			want: nil,
		},
		{
			name: "log level and format",
			yaml: minimal + "log:\n  level: verbose\n  format: text\n",
			want: []Problem{
				{Path: "log.level", Line: 5, Message: `must be one of debug, info, warn, error; got "verbose"`},
				{Path: "log.format", Line: 6, Message: `must be one of json, console; got "text"`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertProblems(t, tt.yaml, envMap(), tt.want)
		})
	}
}

// Every problem in a file is reported at once, in file order, problems
// without a line last, each as source:line: key.path: message.
func TestManyProblemsAtOnce(t *testing.T) {
	_, err := ParseWithEnv([]byte(`listener:
  address: 0.0.0.0
  advertized_host: proxy
upstream:
  bootstrap:
    - kafka-1:9092
    - kafka-2
  sasl:
    mechanism: OAUTHBEARER
    username: proxy
    password: ${PROXY_PASSWORD}
limits:
  max_in_flight: -1
  max_request_bytes: 1MiB
log:
  level: trace
`), "proxy.yaml", envMap())
	want := `proxy.yaml:2: listener.address: must be host:port (IPv6 as [::1]:9092); got "0.0.0.0": missing port in address
proxy.yaml:3: listener.advertized_host: unknown key (did you mean "advertised_host"?)
proxy.yaml:7: upstream.bootstrap[1]: must be host:port (IPv6 as [::1]:9092); got "kafka-2": missing port in address
proxy.yaml:9: upstream.sasl.mechanism: must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; got "OAUTHBEARER"
proxy.yaml:11: upstream.sasl.password: environment variable PROXY_PASSWORD is not set (use ${PROXY_PASSWORD:-default} to give a fallback)
proxy.yaml:13: limits.max_in_flight: must be between 1 and 100000; got -1
proxy.yaml:14: limits.max_request_bytes: must be an integer; got "1MiB"
proxy.yaml:16: log.level: must be one of debug, info, warn, error; got "trace"
proxy.yaml: auth: "sasl" needs credentials: declare api_keys (keys or a state_file) or oidc.identity_pools, or set auth: none for development`
	if err == nil {
		t.Fatal("no error")
	}
	if got := err.Error(); got != want {
		t.Errorf("error:\n%s\n\nwant:\n%s", got, want)
	}
	var pe *ProblemsError
	if !errors.As(err, &pe) || len(pe.Problems) != 9 {
		t.Errorf("want a *ProblemsError with 9 problems, got %T", err)
	}
}

// Validate checks a Config built in code; its problems have no lines.
func TestValidateBuiltInCode(t *testing.T) {
	c := Default()
	want := []Problem{
		{Path: "auth", Message: `"sasl" needs credentials: declare api_keys (keys or a state_file) or oidc.identity_pools, or set auth: none for development`},
		{Path: "upstream.bootstrap", Message: "required: list the host:port of one or more upstream brokers"},
	}
	if got := c.Validate(); !reflect.DeepEqual(got, want) {
		t.Errorf("Default().Validate() = %s, want %s", formatProblems(got), formatProblems(want))
	}
	c.Auth = AuthNone
	c.Upstream.Bootstrap = []string{"127.0.0.1:19092"}
	if got := c.Validate(); got != nil {
		t.Errorf("Validate() = %s, want none", formatProblems(got))
	}
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	if got := c.Validate(); got != nil {
		t.Errorf("Validate() after Normalize = %s, want none", formatProblems(got))
	}
	// Validation does not canonicalise: code must use the constants.
	c.Upstream.SASL = &SASL{Mechanism: "plain", Username: "u", Password: "p"}
	if got := c.Validate(); len(got) != 1 || got[0].Path != "upstream.sasl.mechanism" {
		t.Errorf("Validate() with lower-case mechanism = %s", formatProblems(got))
	}
}

// hashProblem is what validation says of a malformed secret hash.
