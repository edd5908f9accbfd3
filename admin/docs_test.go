package admin

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// docsSection returns the lines of docs/admin-api.md between the markers
// <!-- name:begin --> and <!-- name:end -->.
func docsSection(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile("../docs/admin-api.md")
	if err != nil {
		t.Fatal(err)
	}
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("docs/admin-api.md has no %s section", name)
	}
	return s[i+len(begin) : j]
}

func docsServer(t *testing.T, reg prometheus.Registerer) *Server {
	t.Helper()
	s, err := New(Options{Store: store.NewMemory(), Registerer: reg,
		Scope: Scope{Organization: "org-1", Environment: "env-a", Cluster: func() string { return "lkc-1" }}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The reference page lists every route, as the route table serves it.
func TestTheReferenceListsEveryRoute(t *testing.T) {
	var b strings.Builder
	b.WriteString("| method | path | what |\n|---|---|---|\n")
	for _, rt := range docsServer(t, nil).table {
		b.WriteString("| " + rt.method + " | `" + rt.path + "` | " + rt.summary + " |\n")
	}
	if got := docsSection(t, "routes"); got != b.String() {
		t.Errorf("docs/admin-api.md's route table is stale:\ngot:\n%s\nwant:\n%s", got, b.String())
	}
}

// The reference page lists every metric of the API, with its help.
func TestTheReferenceListsEveryMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := docsServer(t, reg)
	s.metrics.observe("unmatched", 404, 0) // vectors appear once observed
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(families, func(i, j int) bool { return families[i].GetName() > families[j].GetName() })
	var b strings.Builder
	b.WriteString("| metric | what |\n|---|---|\n")
	for _, f := range families {
		b.WriteString("| `" + f.GetName() + "{" + strings.Join(labels(f), ",") + "}` | " + f.GetHelp() + " |\n")
	}
	// Label order is the page's; Prometheus sorts them.
	got := labelSet.ReplaceAllStringFunc(docsSection(t, "metrics"), func(m string) string {
		names := strings.Split(strings.Trim(m, "{}"), ",")
		sort.Strings(names)
		return "{" + strings.Join(names, ",") + "}"
	})
	if got != b.String() {
		t.Errorf("docs/admin-api.md's metric table is stale:\ngot:\n%s\nwant:\n%s", got, b.String())
	}
}

var labelSet = regexp.MustCompile(`\{[a-z_,]+\}`)

// labels are the label names of a family, other than the histogram's le.
func labels(f *dto.MetricFamily) []string {
	var out []string
	for _, l := range f.GetMetric()[0].GetLabel() {
		out = append(out, l.GetName())
	}
	return out
}
