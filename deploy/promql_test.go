package deploy

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// The dashboard's queries are checked against the proxy's /metrics, which
// needs the metric and label names a query refers to: promQLRefs parses a
// query with Prometheus's own PromQL parser and collects them.

// selector is one vector selector of a query: a metric name and its label
// matchers (without the metric name's own __name__ matcher).
type selector struct {
	Metric   string
	Matchers []matcher
}

// matcher is one label matcher, e.g. outcome="denied" or
// instance=~"$instance".
type matcher struct {
	Label, Op, Value string
}

// queryRefs is what a query refers to.
type queryRefs struct {
	// Selectors are the vector selectors, in order.
	Selectors []selector
	// Grouping are the labels of by, without, on, ignoring, group_left and
	// group_right clauses, in order.
	Grouping []string
}

// grafanaIntervals are the Grafana variables that stand for a duration;
// promQLRefs replaces them with one before parsing. Other variables may
// appear only inside label matcher strings ("$instance"), where PromQL
// reads them as text.
var grafanaIntervals = regexp.MustCompile(`\$\{?__(rate_interval|interval|range)\}?`)

// promQLRefs returns the metric selectors and grouping labels of a PromQL
// query as Grafana sends it.
func promQLRefs(q string) (queryRefs, error) {
	var refs queryRefs
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaIntervals.ReplaceAllString(q, "5m"))
	if err != nil {
		return refs, err
	}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			sel := selector{Metric: n.Name}
			for _, m := range n.LabelMatchers {
				if m.Name == model.MetricNameLabel && n.Name != "" {
					continue
				}
				if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
					sel.Metric = m.Value
				}
				sel.Matchers = append(sel.Matchers, matcher{m.Name, m.Type.String(), m.Value})
			}
			refs.Selectors = append(refs.Selectors, sel)
		case *parser.AggregateExpr:
			refs.Grouping = append(refs.Grouping, n.Grouping...)
		case *parser.BinaryExpr:
			if vm := n.VectorMatching; vm != nil {
				refs.Grouping = append(refs.Grouping, vm.MatchingLabels...)
				refs.Grouping = append(refs.Grouping, vm.Include...)
			}
		}
		return nil
	})
	for _, s := range refs.Selectors {
		if s.Metric == "" {
			return refs, fmt.Errorf("%q: a selector without a metric name cannot be checked", q)
		}
	}
	return refs, nil
}

// grafanaQueryRefs is promQLRefs for a Grafana template variable's query,
// which may also be one of the Prometheus data source's helper functions.
func grafanaQueryRefs(q string) (queryRefs, error) {
	q = strings.TrimSpace(q)
	inner, ok := strings.CutPrefix(q, "label_values(")
	if !ok {
		if inner, ok = strings.CutPrefix(q, "query_result("); ok {
			return promQLRefs(strings.TrimSuffix(inner, ")"))
		}
		return promQLRefs(q)
	}
	inner = strings.TrimSuffix(inner, ")")
	comma := strings.LastIndexByte(inner, ',')
	if comma < 0 {
		return queryRefs{}, fmt.Errorf("%s: label_values without a metric is not checked", q)
	}
	refs, err := promQLRefs(inner[:comma])
	if err != nil {
		return refs, err
	}
	// The label whose values are listed must be on the metric.
	refs.Grouping = append(refs.Grouping, strings.TrimSpace(inner[comma+1:]))
	return refs, nil
}

func TestPromQLRefs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		query    string
		want     queryRefs
		errorHas string
	}{
		{name: "a bare metric", query: "up",
			want: queryRefs{Selectors: []selector{{Metric: "up"}}}},
		{name: "matchers of every operator",
			query: `m{a="x", b!="y",c=~'z.*' , d!~` + "`w`" + `}`,
			want: queryRefs{Selectors: []selector{{Metric: "m", Matchers: []matcher{
				{"a", "=", "x"}, {"b", "!=", "y"}, {"c", "=~", "z.*"}, {"d", "!~", "w"}}}}}},
		{name: "a function over a range, with a Grafana interval",
			query: `rate(requests_total{api="Produce"}[$__rate_interval])`,
			want:  queryRefs{Selectors: []selector{{Metric: "requests_total", Matchers: []matcher{{"api", "=", "Produce"}}}}}},
		{name: "an aggregation with a grouping clause before its argument",
			query: `sum by (mechanism, outcome) (rate(auth_total[5m]))`,
			want:  queryRefs{Selectors: []selector{{Metric: "auth_total"}}, Grouping: []string{"mechanism", "outcome"}}},
		{name: "an aggregation with a grouping clause after its argument",
			query: `sum(rate(auth_total[5m])) without (reason)`,
			want:  queryRefs{Selectors: []selector{{Metric: "auth_total"}}, Grouping: []string{"reason"}}},
		{name: "histogram_quantile over buckets",
			query: `histogram_quantile(0.99, sum by (le, api) (rate(latency_seconds_bucket{instance=~"$instance"}[1m])))`,
			want: queryRefs{Selectors: []selector{{Metric: "latency_seconds_bucket", Matchers: []matcher{{"instance", "=~", "$instance"}}}},
				Grouping: []string{"le", "api"}}},
		{name: "a ratio with vector matching and a subquery",
			query: "a_total / on (job) group_left (api) b_total\n+ max_over_time(c[1h:5m] offset 5m)",
			want: queryRefs{Selectors: []selector{{Metric: "a_total"}, {Metric: "b_total"}, {Metric: "c"}},
				Grouping: []string{"job", "api"}}},
		{name: "group_left without labels, bool, numbers and set operators",
			query: `(x > bool 1e-3) and y * on() group_left z unless w or vector(0x1F < bool Inf)`,
			want:  queryRefs{Selectors: []selector{{Metric: "x"}, {Metric: "y"}, {Metric: "z"}, {Metric: "w"}}, Grouping: nil}},
		{name: "strings never hold metrics",
			query: `label_replace(up, "dst", "not_a_metric $1", "src", "(.*)")`,
			want:  queryRefs{Selectors: []selector{{Metric: "up"}}}},
		{name: "a selector by __name__",
			query: `{__name__="m", job="x"}`,
			want:  queryRefs{Selectors: []selector{{Metric: "m", Matchers: []matcher{{"__name__", "=", "m"}, {"job", "=", "x"}}}}}},
		{name: "aggregation parameters and comments",
			query: "topk(5, count_values(\"v\", m)) # count_values(bogus)\n",
			want:  queryRefs{Selectors: []selector{{Metric: "m"}}}},
		{name: "escaped quotes", query: `m{a="x\"y"}`,
			want: queryRefs{Selectors: []selector{{Metric: "m", Matchers: []matcher{{"a", "=", `x"y`}}}}}},
		{name: "an unclosed selector", query: `m{a="x"`, errorHas: "unexpected end of input"},
		{name: "an unterminated string", query: `m{a="x}`, errorHas: "unterminated"},
		{name: "an unclosed range", query: `rate(m[5m)`, errorHas: "unexpected"},
		{name: "a selector without a name", query: `{job="x"}`, errorHas: "without a metric name"},
		{name: "a matcher without a string", query: `m{a=1}`, errorHas: "unexpected"},
		{name: "a Grafana variable outside a string", query: `rate(m[$window])`, errorHas: "unexpected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := promQLRefs(tc.query)
			if tc.errorHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errorHas) {
					t.Fatalf("promQLRefs(%q) = %+v, %v; want an error mentioning %q", tc.query, got, err, tc.errorHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("promQLRefs(%q): %v", tc.query, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("promQLRefs(%q)\n got %+v\nwant %+v", tc.query, got, tc.want)
			}
		})
	}
}

func TestGrafanaQueryRefs(t *testing.T) {
	for _, tc := range []struct {
		query    string
		metrics  []string
		grouping []string
	}{
		{"label_values(m_total, instance)", []string{"m_total"}, []string{"instance"}},
		{`label_values(m_total{job="x"}, api)`, []string{"m_total"}, []string{"api"}},
		{"query_result(sum by (api) (rate(m_total[5m])))", []string{"m_total"}, []string{"api"}},
		{"sum by (api) (m_total)", []string{"m_total"}, []string{"api"}},
	} {
		refs, err := grafanaQueryRefs(tc.query)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		var metrics []string
		for _, s := range refs.Selectors {
			metrics = append(metrics, s.Metric)
		}
		if !slices.Equal(metrics, tc.metrics) || !slices.Equal(refs.Grouping, tc.grouping) {
			t.Errorf("%s: metrics %v grouping %v; want %v %v", tc.query, metrics, refs.Grouping, tc.metrics, tc.grouping)
		}
	}
	if _, err := grafanaQueryRefs("label_values(instance)"); err == nil {
		t.Error("label_values without a metric was accepted; its label could not be checked")
	}
}
