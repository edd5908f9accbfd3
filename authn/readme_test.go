package authn

import (
	"os"
	"strings"
	"testing"
)

// reasonTableMarkdown renders every failure reason and its meaning, as the
// README shows them.
func reasonTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| reason | the login failed because |\n|---|---|\n")
	for _, r := range Reasons() {
		b.WriteString("| `" + r.Reason + "` | " + r.Meaning + " |\n")
	}
	return b.String()
}

// The README's table of failure reasons is generated from Reasons, so
// that it cannot drift from the code. UPDATE_README=1 rewrites it.
func TestREADMEReasonTable(t *testing.T) {
	const begin, end = "<!-- reasons:begin -->\n", "<!-- reasons:end -->"
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README.md has no reason table markers")
	}
	want := reasonTableMarkdown()
	if got := s[i+len(begin) : j]; got != want {
		if os.Getenv("UPDATE_README") != "" {
			if err := os.WriteFile("../README.md", []byte(s[:i+len(begin)]+want+s[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md's reason table is stale; run UPDATE_README=1 go test ./authn/ -run TestREADMEReasonTable\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// Every reason the code records is in Reasons, once.
func TestEveryReasonIsListed(t *testing.T) {
	listed := map[string]int{}
	for _, r := range Reasons() {
		listed[r.Reason]++
	}
	for reason, n := range listed {
		if n != 1 {
			t.Errorf("%s is listed %d times", reason, n)
		}
	}
	for _, reason := range []string{ReasonMalformed, ReasonUnknownKey, ReasonBadSecret, ReasonUnknownAccount, ReasonWrongCluster,
		ReasonThrottled, ReasonFailureCeiling, ReasonUnknownProvider, ReasonNoPool, ReasonUnknownPool, ReasonAuthzID,
		ReasonPrincipalChanged, ReasonMechanismChanged, ReasonUnsupportedMech, ReasonHandshakeMissing,
		ReasonAttemptAfterFailure, ReasonFrameTooLarge} {
		if listed[reason] != 1 {
			t.Errorf("%s is recorded but not listed in Reasons", reason)
		}
	}
}
