package pool

import (
	"errors"
	"testing"
)

func mustCompile(t testing.TB, c Config) *Pool {
	t.Helper()
	p, err := Compile(c)
	if err != nil {
		t.Fatalf("compile %s: %v", c.ID, err)
	}
	return p
}

func TestCompileReportsErrorsWithPosition(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       Config
		field     string
		line, col int
	}{
		{"syntax error", Config{ID: "pool-a", Filter: `claims.aud == "kafka" &&`}, "filter", 1, 25},
		{"unknown variable", Config{ID: "pool-a", Filter: "token.aud == 'kafka'"}, "filter", 1, 1},
		{"second line", Config{ID: "pool-a", Filter: "claims.aud == 'kafka' &&\n  claimz.sub == 'x'"}, "filter", 2, 3},
		{"filter is not a bool", Config{ID: "pool-a", Filter: "'kafka'"}, "filter", 0, 0},
		{"empty filter", Config{ID: "pool-a", Filter: "  "}, "filter", 0, 0},
		{"identity claim not a string", Config{ID: "pool-a", Filter: "true", IdentityClaim: "1 + 2"}, "identity_claim", 0, 0},
		{"identity claim syntax", Config{ID: "pool-a", Filter: "true", IdentityClaim: "claims.("}, "identity_claim", 1, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.cfg)
			var ee *ExprError
			if !errors.As(err, &ee) {
				t.Fatalf("got %v, want an *ExprError", err)
			}
			if ee.Field != tc.field || ee.Line != tc.line || (tc.col != 0 && ee.Column != tc.col) {
				t.Errorf("got %s at %d:%d, want %s at %d:%d (%v)", ee.Field, ee.Line, ee.Column, tc.field, tc.line, tc.col, err)
			}
		})
	}
}

func TestCompileChecksID(t *testing.T) {
	for _, id := range []string{"", "pool-", "sa-abc", "payments"} {
		if _, err := Compile(Config{ID: id, Filter: "true"}); err == nil {
			t.Errorf("id %q accepted", id)
		}
	}
}

func TestMatch(t *testing.T) {
	claims := map[string]any{
		"sub":       "payments-app",
		"aud":       "kafka",
		"groups":    []any{"payments", "ops"},
		"client_id": "payments-app",
		"level":     float64(3),
		"nested":    map[string]any{"team": "blue"},
	}
	for _, tc := range []struct {
		name     string
		cfg      Config
		match    bool
		identity string
		evalErr  bool
	}{
		{"group membership", Config{Filter: `claims.aud == "kafka" && "payments" in claims.groups`}, true, "payments-app", false},
		{"group missing", Config{Filter: `"analytics" in claims.groups`}, false, "", false},
		{"numeric claim", Config{Filter: `claims.level >= 2.0`}, true, "payments-app", false},
		{"nested claim", Config{Filter: `claims.nested.team == "blue"`}, true, "payments-app", false},
		{"custom identity claim", Config{Filter: "true", IdentityClaim: "claims.client_id + '@' + claims.aud"}, true, "payments-app@kafka", false},
		{"missing claim does not match", Config{Filter: `claims.email.endsWith("@example.com")`}, false, "", true},
		{"has() guards a missing claim", Config{Filter: `has(claims.email) && claims.email.endsWith("@example.com")`}, false, "", false},
		{"identity claim missing", Config{Filter: "true", IdentityClaim: "claims.email"}, false, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.ID = "pool-test"
			p := mustCompile(t, tc.cfg)
			id, ok, err := p.Match(claims)
			if ok != tc.match || id != tc.identity || (err != nil) != tc.evalErr {
				t.Errorf("Match = %q, %v, %v; want %q, %v, error %v", id, ok, err, tc.identity, tc.match, tc.evalErr)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	set := NewSet([]*Pool{
		mustCompile(t, Config{ID: "pool-zz-everyone", Provider: "corp", Filter: "true"}),
		mustCompile(t, Config{ID: "pool-aa-payments", Provider: "corp", Filter: `"payments" in claims.groups`}),
		mustCompile(t, Config{ID: "pool-mm-partner", Provider: "partner", Filter: "true"}),
	})
	payments := map[string]any{"sub": "p", "groups": []any{"payments"}}
	other := map[string]any{"sub": "o"}
	for _, tc := range []struct {
		name      string
		provider  string
		requested string
		claims    map[string]any
		want      string
		err       error
	}{
		{"first match by ascending id", "corp", "", payments, "pool-aa-payments", nil},
		{"falls through to a later pool", "corp", "", other, "pool-zz-everyone", nil},
		{"requested pool", "corp", "pool-zz-everyone", payments, "pool-zz-everyone", nil},
		{"requested pool must match", "corp", "pool-aa-payments", other, "", ErrNoMatch},
		{"requested pool of another provider", "corp", "pool-mm-partner", payments, "", ErrUnknownPool},
		{"requested pool unknown", "corp", "pool-nope", payments, "", ErrUnknownPool},
		{"pools of other providers are not tried", "nobody", "", payments, "", ErrNoMatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _, err := set.Select(tc.provider, tc.requested, tc.claims)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || p.ID != tc.want {
				t.Fatalf("got %v, %v; want %s", p, err, tc.want)
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	p := mustCompile(b, Config{ID: "pool-b", Filter: `claims.aud == "kafka" && "payments" in claims.groups`})
	claims := map[string]any{"sub": "x", "aud": "kafka", "groups": []any{"ops", "payments"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := p.Match(claims); !ok {
			b.Fatal("no match")
		}
	}
}
