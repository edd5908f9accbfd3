package config

import (
	"reflect"
	"testing"
)

// envMap returns a LookupFunc over fixed variables, so tests never touch the
// process environment.
func envMap(kv ...string) LookupFunc {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func TestExpandEnv(t *testing.T) {
	env := envMap("HOST", "kafka-1", "PORT", "9092", "EMPTY", "", "DOLLAR", "$HOME")
	tests := []struct {
		name, in, want string
		errs           []string
	}{
		{name: "no reference", in: "127.0.0.1:9092", want: "127.0.0.1:9092"},
		{name: "whole value", in: "${HOST}", want: "kafka-1"},
		{name: "inside text", in: "${HOST}:${PORT}", want: "kafka-1:9092"},
		{name: "set but empty is empty", in: "x${EMPTY}x", want: "xx"},
		{name: "default when unset", in: "${NOPE:-fallback}", want: "fallback"},
		{name: "default when empty", in: "${EMPTY:-fallback}", want: "fallback"},
		{name: "default ignored when set", in: "${HOST:-fallback}", want: "kafka-1"},
		{name: "empty default", in: "a${NOPE:-}b", want: "ab"},
		{name: "default may contain colons", in: "${NOPE:-localhost:9092}", want: "localhost:9092"},
		{name: "$$ is a literal $", in: "pa$$word", want: "pa$word"},
		{name: "$${ is a literal ${", in: "$${HOST}", want: "${HOST}"},
		{name: "$$ then a reference", in: "$$${PORT}", want: "$9092"},
		{name: "lone $ kept", in: "pa$word", want: "pa$word"},
		{name: "trailing $ kept", in: "cost$", want: "cost$"},
		{name: "values are not expanded again", in: "${DOLLAR}", want: "$HOME"},
		{
			name: "unset without default", in: "${NOPE}", want: "",
			errs: []string{"environment variable NOPE is not set (use ${NOPE:-default} to give a fallback)"},
		},
		{
			name: "every unset variable is reported", in: "${A}-${B}", want: "-",
			errs: []string{
				"environment variable A is not set (use ${A:-default} to give a fallback)",
				"environment variable B is not set (use ${B:-default} to give a fallback)",
			},
		},
		{
			name: "unterminated", in: "x${HOST", want: "x${HOST",
			errs: []string{`unterminated "${" (write "$$" for a literal "$")`},
		},
		{
			name: "empty name", in: "${}", want: "",
			errs: []string{`invalid variable reference "${}" (use ${NAME} or ${NAME:-default}; write "$$" for a literal "$")`},
		},
		{
			name: "name starting with a digit", in: "${1X}", want: "",
			errs: []string{`invalid variable reference "${1X}" (use ${NAME} or ${NAME:-default}; write "$$" for a literal "$")`},
		},
		{
			name: "other shell forms are not supported", in: "${HOST:?required}", want: "",
			errs: []string{`invalid variable reference "${HOST:?required}" (use ${NAME} or ${NAME:-default}; write "$$" for a literal "$")`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := expandEnv(tt.in, env)
			if got != tt.want {
				t.Errorf("expandEnv(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !reflect.DeepEqual(errs, tt.errs) {
				t.Errorf("expandEnv(%q) problems:\n got %q\nwant %q", tt.in, errs, tt.errs)
			}
		})
	}
}

// Expansion happens on decoded scalar values, after YAML parsing: values can
// come from the environment whatever their type, keys cannot, and a variable's
// content is never parsed as YAML.
func TestEnvInConfig(t *testing.T) {
	env := envMap(
		"BOOTSTRAP", "kafka-1:9092, kafka-2:9092",
		"BASE", "19000",
		"LEVEL", "debug",
		"PASSWORD", "s3cret: {not: yaml}\n- at all",
		"SKIP", "true",
		"TIMEOUT", "2s",
	)
	cfg := mustParse(t, `auth: none
listener:
  broker_port_base: ${BASE}
upstream:
  bootstrap: ${BOOTSTRAP}
  dial_timeout: ${TIMEOUT}
  tls:
    insecure_skip_verify: ${SKIP}
  sasl:
    mechanism: ${MECH:-plain}
    username: "${USER_NAME:-proxy}"
    password: '${PASSWORD}'
log:
  level: ${LEVEL}
metrics:
  address: ${METRICS_ADDRESS:-}
`, env)

	want := Default()
	want.Auth = AuthNone
	want.Listener.BrokerPortBase = 19000
	want.Listener.AdvertisedHost = "127.0.0.1"
	want.Upstream.Bootstrap = []string{"kafka-1:9092", "kafka-2:9092"}
	want.Upstream.DialTimeout = Duration(2e9)
	want.Upstream.TLS = &ClientTLS{InsecureSkipVerify: true}
	want.Upstream.SASL = &SASL{Mechanism: MechanismPlain, Username: "proxy", Password: "s3cret: {not: yaml}\n- at all"}
	want.Log.Level = "debug"
	want.Metrics.Address = ""
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config from environment:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestEnvProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  LookupFunc
		want []Problem
	}{
		{
			name: "unset variable names the variable, key path and line",
			yaml: `auth: none
upstream:
  bootstrap:
    - 127.0.0.1:19092
  sasl:
    mechanism: PLAIN
    username: proxy
    password: ${KAFKA_PASSWORD}
`,
			want: []Problem{{Path: "upstream.sasl.password", Line: 8, Message: "environment variable KAFKA_PASSWORD is not set (use ${KAFKA_PASSWORD:-default} to give a fallback)"}},
		},
		{
			name: "unset variable in a list item",
			yaml: `auth: none
upstream:
  bootstrap:
    - 127.0.0.1:19092
    - ${SECOND_BROKER}
`,
			want: []Problem{{Path: "upstream.bootstrap[1]", Line: 5, Message: "environment variable SECOND_BROKER is not set (use ${SECOND_BROKER:-default} to give a fallback)"}},
		},
		{
			name: "keys are not expanded",
			yaml: `auth: none
upstream:
  bootstrap: [127.0.0.1:19092]
${SECTION}:
  level: info
`,
			env:  envMap("SECTION", "log"),
			want: []Problem{{Path: "${SECTION}", Line: 4, Message: "unknown key (valid keys here: listener, extra_listeners, upstream, auth, authentication, api_keys, oidc, authorization, audit, limits, metrics, organization, admin, log, shutdown_timeout)"}},
		},
		{
			name: "expanded values are type-checked like literal ones",
			yaml: `auth: none
upstream:
  bootstrap: [127.0.0.1:19092]
limits:
  max_in_flight: ${IN_FLIGHT}
`,
			env:  envMap("IN_FLIGHT", "many"),
			want: []Problem{{Path: "limits.max_in_flight", Line: 5, Message: `must be an integer; got "many"`}},
		},
		{
			name: "malformed reference",
			yaml: `auth: none
upstream:
  bootstrap: ["${BROKER"]
`,
			want: []Problem{{Path: "upstream.bootstrap[0]", Line: 3, Message: `unterminated "${" (write "$$" for a literal "$")`}},
		},
		{
			name: "unknown keys are reported, not their unset variables",
			yaml: `auth: none
upstream:
  bootstrap: [127.0.0.1:19092]
  pasword: ${NOPE}
`,
			want: []Problem{{Path: "upstream.pasword", Line: 4, Message: "unknown key (valid keys here: bootstrap, tls, sasl, dial_timeout, metadata_refresh)"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			if env == nil {
				env = envMap()
			}
			assertProblems(t, tt.yaml, env, tt.want)
		})
	}
}

// A value reached twice through an alias is expanded once per use, from the
// original text: "$$" does not collapse twice.
func TestEnvThroughAlias(t *testing.T) {
	cfg := mustParse(t, `auth: none
upstream:
  bootstrap: [127.0.0.1:19092]
  sasl:
    mechanism: PLAIN
    username: &secret "a$$b${X}"
    password: *secret
`, envMap("X", "$$"))
	if got := cfg.Upstream.SASL.Username; got != "a$b$$" {
		t.Errorf("username = %q, want %q", got, "a$b$$")
	}
	if got := cfg.Upstream.SASL.Password; got != "a$b$$" {
		t.Errorf("password = %q, want %q", got, "a$b$$")
	}
}
