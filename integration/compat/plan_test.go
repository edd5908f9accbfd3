package compat

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseOutputReadsStepLinesAndIgnoresLogs(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    []Result
		wantErr string
	}{
		{
			name: "results among log lines",
			out: "connecting...\nSTEP produce ok 5 records acknowledged\n[warn] something\n" +
				"STEP denied ok TopicAuthorizationException: Not authorized to access topics: [x]\n" +
				"  STEP transaction fail ProducerFencedException: fenced  \n",
			want: []Result{
				{Step: StepProduce, Outcome: OK, Detail: "5 records acknowledged"},
				{Step: StepDenied, Outcome: OK, Detail: "TopicAuthorizationException: Not authorized to access topics: [x]"},
				{Step: StepTransaction, Outcome: Failed, Detail: "ProducerFencedException: fenced"},
			},
		},
		{name: "no detail", out: "STEP resume ok", want: []Result{{Step: StepResume, Outcome: OK}}},
		{name: "unsupported", out: "STEP transaction unsupported no transactions", want: []Result{{Step: StepTransaction, Outcome: Unsupported, Detail: "no transactions"}}},
		{name: "nothing reported", out: "Exception in thread main\n", want: nil},
		{name: "a typo in a step cannot pass", out: "STEP prodcue ok", wantErr: `unknown step "prodcue"`},
		{name: "a typo in an outcome cannot pass", out: "STEP produce okay", wantErr: `unknown outcome "okay"`},
		{name: "skipped is the test's word, not a runner's", out: "STEP produce skipped", wantErr: `unknown outcome "skipped"`},
		{name: "malformed", out: "STEP produce", wantErr: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOutput(tt.out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestConsumedWaitsForEveryValueAndRejectsOldOnes(t *testing.T) {
	c := newConsumed([]string{"resume-0", "resume-1"}, []string{"produce-0"})
	c.add("resume-0")
	if c.done() {
		t.Fatal("done with resume-1 missing")
	}
	if err := c.err(t.Context()); err == nil || !strings.Contains(err.Error(), `"resume-1"`) {
		t.Fatalf("err = %v, want it to name the missing value", err)
	}
	c.add("resume-1")
	if !c.done() || c.err(t.Context()) != nil {
		t.Fatalf("done=%v err=%v after every value", c.done(), c.err(t.Context()))
	}
	c.add("produce-0")
	if err := c.err(t.Context()); err == nil || !strings.Contains(err.Error(), "committed offset was not used") {
		t.Fatalf("err = %v, want a complaint about the committed offset", err)
	}
}
