package compat

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// These tests need no Java; compat_test.go (build tag integration) runs the
// Java runner for real.

func TestJavaArgs(t *testing.T) {
	const plan = "/tmp/plan.json"
	tests := []struct {
		name     string
		plan     Plan
		wantArgs []string // "--property" values, in order
		wantJVM  map[string]string
		wantErr  string
	}{
		{
			name: "PLAIN logs in with the API key",
			plan: Plan{Mechanism: Plain, Username: "key", Password: `se"cret`},
			wantArgs: []string{
				`sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="key" password="se\"cret";`,
				"sasl.mechanism=PLAIN",
				"security.protocol=SASL_PLAINTEXT",
			},
			wantJVM: map[string]string{},
		},
		{
			name: "OAUTHBEARER fetches its own token and allows the endpoint",
			plan: Plan{Mechanism: OAuthBearer, TokenEndpoint: "http://127.0.0.1:1/token", ClientID: "app", ClientSecret: "s"},
			wantArgs: []string{
				"sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"app\" clientSecret=\"s\";",
				"sasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
				"sasl.mechanism=OAUTHBEARER",
				"sasl.oauthbearer.token.endpoint.url=http://127.0.0.1:1/token",
				"security.protocol=SASL_PLAINTEXT",
			},
			wantJVM: map[string]string{"-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls": "http://127.0.0.1:1/token"},
		},
		{
			name:    "OAUTHBEARER with only a token cannot run",
			plan:    Plan{Mechanism: OAuthBearer, Token: "eyJ"},
			wantErr: "token endpoint",
		},
		{
			name:    "PLAIN without a username",
			plan:    Plan{Mechanism: Plain},
			wantErr: "username",
		},
		{
			name:    "unknown mechanism",
			plan:    Plan{Mechanism: "SCRAM-SHA-256", Username: "u"},
			wantErr: "unknown mechanism",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, jvm, err := javaArgs(tt.plan, plan)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(args) == 0 || args[len(args)-1] != plan {
				t.Fatalf("args %q do not end with the plan file", args)
			}
			var props []string
			rest := args[:len(args)-1]
			for i := 0; i < len(rest); i += 2 {
				if rest[i] != "--property" || i+1 >= len(rest) {
					t.Fatalf("args %q: want --property key=value pairs before the plan", args)
				}
				props = append(props, rest[i+1])
			}
			if !slices.Equal(props, tt.wantArgs) {
				t.Errorf("properties:\n got %q\nwant %q", props, tt.wantArgs)
			}
			if !reflect.DeepEqual(jvm, tt.wantJVM) {
				t.Errorf("JVM properties = %v, want %v", jvm, tt.wantJVM)
			}
		})
	}
}

func TestParseJavaVersion(t *testing.T) {
	v, err := parseJavaVersion("Picked up JAVA_TOOL_OPTIONS: -Xss1m\nkafka-clients 3.9.2\n")
	if err != nil || v != "3.9.2" {
		t.Errorf("parseJavaVersion = %q, %v; want 3.9.2", v, err)
	}
	if v, err := parseJavaVersion("FAIL: no version\n"); err == nil {
		t.Errorf("parseJavaVersion of no version line = %q, want an error", v)
	}
}
