package harness

import (
	"context"
	"strings"
	"testing"
)

func TestStartRejectsUsersItCannotConfigure(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"users without SASL", Options{Users: map[string]string{"alice": "pw"}}},
		{"empty name", Options{SASL: true, Users: map[string]string{"": "pw"}}},
		{"name with a space", Options{SASL: true, Users: map[string]string{"a b": "pw"}}},
		{"name with a quote", Options{SASL: true, Users: map[string]string{`a"`: "pw"}}},
		{"the harness user", Options{SASL: true, Users: map[string]string{saslUser: "pw"}}},
		{"empty password", Options{SASL: true, Users: map[string]string{"alice": ""}}},
		{"password with a quote", Options{SASL: true, Users: map[string]string{"alice": `p"w`}}},
		{"password with a comma", Options{SASL: true, Users: map[string]string{"alice": "p,w"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Start(context.Background(), tc.opts); err == nil || !strings.Contains(err.Error(), "harness:") {
				t.Fatalf("Start: %v, want a harness error before anything starts", err)
			}
		})
	}
}

func TestSASLPropsListEveryPlainUser(t *testing.T) {
	props := saslProps(map[string]string{"harness": "h-pw", "alice": "a-pw", "bob": "b-pw"})
	got := props["listener.name.sasl_plaintext.plain.sasl.jaas.config"]
	want := `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="a-pw" user_bob="b-pw" user_harness="h-pw";`
	if got != want {
		t.Fatalf("PLAIN JAAS config\n got %s\nwant %s", got, want)
	}
}

func TestAuthorizerPropsMakeTheHarnessPrincipalsSuperUsers(t *testing.T) {
	for _, tc := range []struct {
		sasl bool
		want string
	}{
		{false, "User:ANONYMOUS"},
		{true, "User:ANONYMOUS;User:" + saslUser},
	} {
		props := authorizerProps(tc.sasl, saslUser)
		if props["super.users"] != tc.want {
			t.Errorf("SASL=%v: super.users=%q, want %q", tc.sasl, props["super.users"], tc.want)
		}
		if props["authorizer.class.name"] != "org.apache.kafka.metadata.authorizer.StandardAuthorizer" {
			t.Errorf("authorizer.class.name=%q", props["authorizer.class.name"])
		}
	}
}
