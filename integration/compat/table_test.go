package compat

import (
	"strings"
	"testing"
	"time"
)

func TestMarkdownShowsEveryCellHonestly(t *testing.T) {
	ok := func(s Step) Result { return Result{Step: s, Outcome: OK, Detail: "fine"} }
	row := func(client string, mech Mechanism, edit func(map[Step]Result)) Row {
		res := map[Step]Result{}
		for _, s := range Steps {
			res[s] = ok(s)
		}
		res[StepDenied] = Result{Step: StepDenied, Outcome: OK, Detail: "TOPIC_AUTHORIZATION_FAILED: Not authorized"}
		if edit != nil {
			edit(res)
		}
		r := Row{Client: client, Description: client + " | lib", Version: "1.0", Mechanism: mech, Login: "API key"}
		for _, s := range Steps {
			r.Results = append(r.Results, res[s])
		}
		return r
	}
	failing := row("kcat", OAuthBearer, func(m map[Step]Result) {
		m[StepTransaction] = Result{Step: StepTransaction, Outcome: Unsupported, Detail: "no transactional mode"}
		m[StepResume] = Result{Step: StepResume, Outcome: Failed, Detail: "consumed \"produce-0\"\nagain"}
		m[StepProduce] = Result{Step: StepProduce, Outcome: Failed, Detail: "no OIDC"}
		m[StepConsume] = Result{Step: StepConsume, Outcome: Failed, Detail: "no OIDC"}
	})
	failing.Known = map[Step]string{StepProduce: "Built without OIDC.", StepConsume: "Built without OIDC."}
	md := Markdown(Results{
		Finished: time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC), Target: "local", Kafka: "4.4.0", Proxy: "v1", OIDCProvider: "idp",
		Rows: []Row{row("franz-go", Plain, nil), failing},
	})
	for _, want := range []string{
		"| Client | Version | Mechanism | Login | produce | consume | resume | denied | idempotent | transaction |",
		"| franz-go \\| lib | 1.0 | PLAIN | API key | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ |",
		"| kcat \\| lib | 1.0 | OAUTHBEARER | API key | ❌ [1] | ❌ [1] | ❌ [2] | ✅ | ✅ | ➖ [3] |",
		"1. kcat, OAUTHBEARER: does not work. Built without OIDC. Error: no OIDC\n",
		`2. kcat, OAUTHBEARER, resume: fail: consumed "produce-0" again`,
		"3. kcat, OAUTHBEARER, transaction: not supported: no transactional mode",
		"| franz-go | PLAIN | `TOPIC_AUTHORIZATION_FAILED: Not authorized` |",
		"Apache Kafka 4.4.0 (local)",
		"2026-11-26 04:00 UTC",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the table lacks %q:\n%s", want, md)
		}
	}
}

func TestRowResultOfAStepNeverRunIsNotAPass(t *testing.T) {
	if got := (Row{}).Result(StepProduce); got.Outcome != Skipped {
		t.Fatalf("Result of a missing step = %+v, want skipped", got)
	}
}
