package deploy

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Datasource *datasourceRef  `json:"datasource"`
			Query      json.RawMessage `json:"query"` // a string or {"query": ...}
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *datasourceRef `json:"datasource"`
	Targets    []struct {
		Datasource *datasourceRef `json:"datasource"`
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func loadDashboard(t *testing.T) *dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readRepoFile(t, dashboardFile), &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return &d
}

// allPanels lists the panels, those inside collapsed rows included.
func (d *dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// datasourceUIDs lists the data source uid of every panel, target and
// template variable.
func (d *dashboard) datasourceUIDs() []string {
	var uids []string
	add := func(r *datasourceRef) {
		if r != nil {
			uids = append(uids, r.UID)
		}
	}
	for _, p := range d.allPanels() {
		add(p.Datasource)
		for _, tg := range p.Targets {
			add(tg.Datasource)
		}
	}
	for _, v := range d.Templating.List {
		add(v.Datasource)
	}
	return uids
}

// query is one PromQL query of the dashboard and where it is.
type query struct {
	Where string
	Refs  queryRefs
}

// queries returns every query of the dashboard: the panels' targets and
// the query variables.
func (d *dashboard) queries(t *testing.T) []query {
	t.Helper()
	var qs []query
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			where := fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID)
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s has no expr", where)
				continue
			}
			refs, err := promQLRefs(tg.Expr)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			qs = append(qs, query{where, refs})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q string
		if err := json.Unmarshal(v.Query, &q); err != nil {
			var obj struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &obj); err != nil {
				t.Errorf("variable %s: query %s: %v", v.Name, v.Query, err)
				continue
			}
			q = obj.Query
		}
		refs, err := grafanaQueryRefs(q)
		if err != nil {
			t.Errorf("variable %s: %v", v.Name, err)
			continue
		}
		qs = append(qs, query{"variable " + v.Name, refs})
	}
	return qs
}

// The dashboard shows what the issue asks for: connections,
// authentications, authorization decisions, latency and bytes.
func TestDashboardCoversTheProxy(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Error("the dashboard needs a uid (stable links) and a title")
	}
	used := map[string]bool{}
	ids := map[int]bool{}
	for _, p := range d.allPanels() {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
	}
	for _, q := range d.queries(t) {
		for _, s := range q.Refs.Selectors {
			used[s.Metric] = true
		}
	}
	for _, m := range []string{
		"kafka_auth_proxy_client_connections_active",
		"kafka_auth_proxy_authentications_total",
		"kafka_auth_proxy_authz_decisions_total",
		"kafka_auth_proxy_request_duration_seconds_bucket",
		"kafka_auth_proxy_client_received_bytes_total",
		"kafka_auth_proxy_client_sent_bytes_total",
	} {
		if !used[m] {
			t.Errorf("no panel queries %s", m)
		}
	}
}

// targetLabels are the labels Prometheus adds to every scraped series.
var targetLabels = []string{"job", "instance"}

// family is what a scrape says about one metric family.
type family struct {
	Type   dto.MetricType
	Labels map[string]map[string]bool // label name -> values seen
}

// families indexes a scrape by family name.
func families(mfs map[string]*dto.MetricFamily) map[string]family {
	out := map[string]family{}
	for name, mf := range mfs {
		f := family{Type: mf.GetType(), Labels: map[string]map[string]bool{}}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if f.Labels[lp.GetName()] == nil {
					f.Labels[lp.GetName()] = map[string]bool{}
				}
				f.Labels[lp.GetName()][lp.GetValue()] = true
			}
		}
		out[name] = f
	}
	return out
}

// lookup resolves a series name to its family: a histogram's _bucket, _sum
// and _count series and a summary's _sum and _count belong to the family
// without the suffix. extra are the labels the series has beyond the
// family's (le for buckets).
func lookup(fams map[string]family, series string) (name string, f family, extra []string, ok bool) {
	if f, ok := fams[series]; ok && f.Type != dto.MetricType_HISTOGRAM {
		return series, f, nil, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, cut := strings.CutSuffix(series, suffix)
		if !cut {
			continue
		}
		f, ok := fams[base]
		switch {
		case ok && f.Type == dto.MetricType_HISTOGRAM && suffix == "_bucket":
			return base, f, []string{"le"}, true
		case ok && (f.Type == dto.MetricType_HISTOGRAM || f.Type == dto.MetricType_SUMMARY) && suffix != "_bucket":
			return base, f, nil, true
		}
	}
	return "", family{}, nil, false
}

// Every query of the dashboard refers to metrics, labels and label values
// that a real proxy running the stack's configuration exports. The proxy
// runs in-process in front of kfake, with the traffic a user of the stack
// makes: logins with both mechanisms, a failed login, allowed and denied
// requests.
func TestDashboardQueriesWhatTheProxyExports(t *testing.T) {
	p := startStackProxy(t)
	p.demoTraffic(t, bearer(p.idp.token(t)))
	text := p.scrape(t)
	fams := families(parseExposition(t, text))

	for _, q := range loadDashboard(t).queries(t) {
		var available []string // labels of the query's metrics
		for _, s := range q.Refs.Selectors {
			name, f, extra, ok := lookup(fams, s.Metric)
			if !ok {
				t.Errorf("%s: %s is not exported by the proxy", q.Where, s.Metric)
				continue
			}
			labels := append(slices.Collect(maps.Keys(f.Labels)), extra...)
			labels = append(labels, targetLabels...)
			available = append(available, labels...)
			for _, m := range s.Matchers {
				if !slices.Contains(labels, m.Label) {
					t.Errorf("%s: %s has no label %s (it has %v)", q.Where, name, m.Label, labels)
					continue
				}
				// A literal equality must name a value the proxy
				// writes, or the panel stays empty for ever.
				if m.Op == "=" && !strings.Contains(m.Value, "$") && !slices.Contains(targetLabels, m.Label) && !f.Labels[m.Label][m.Value] {
					t.Errorf("%s: %s{%s=%q}: the proxy exported no such value (it has %v)", q.Where, name, m.Label, m.Value, slices.Sorted(maps.Keys(f.Labels[m.Label])))
				}
			}
		}
		for _, l := range q.Refs.Grouping {
			if !slices.Contains(available, l) {
				t.Errorf("%s: groups by %s, which none of its metrics has", q.Where, l)
			}
		}
	}

	// promtool lints the exposition as Prometheus would read it.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool is not installed: the scraped metrics were not linted (.ci/prereqs installs it)")
		return
	}
	f := filepath.Join(t.TempDir(), "metrics.txt")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = in
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	t.Logf("promtool check metrics passed on %d families", len(fams))
}
