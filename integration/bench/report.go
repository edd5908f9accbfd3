package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// roundResult is one round: the same phases on every path.
type roundResult struct {
	direct, proxy, auth phaseResult
}

func (r *roundResult) slot(p path) *phaseResult {
	switch p {
	case pathProxy:
		return &r.proxy
	case pathProxyAuth:
		return &r.auth
	}
	return &r.direct
}

func (r *roundResult) set(p path, res phaseResult) { *r.slot(p) = res }

func (r roundResult) get(p path) phaseResult { return *r.slot(p) }

// reportInput is everything the report shows.
type reportInput struct {
	kafkaVersion string
	dataPlace    string // where the broker keeps its log segments
	opts         options
	w            *workload
	paths        []path // the paths measured, direct first
	rounds       []roundResult
}

// pathSummary is the medians and, on a proxied path, the CPU cost of its
// proxy derived from the rounds.
type pathSummary struct {
	produce, consume float64 // median MB/s
	// Median proxy CPU seconds per phase.
	produceCPU, consumeCPU float64
	// CPU seconds per GB forwarded: total and per phase.
	cpuPerGB, produceCPUPerGB, consumeCPUPerGB float64
}

// summary is the pathSummary of every path.
type summary struct {
	direct, proxy, auth pathSummary
}

func summarize(in reportInput) summary {
	return summary{
		direct: summarizePath(in, pathDirect),
		proxy:  summarizePath(in, pathProxy),
		auth:   summarizePath(in, pathProxyAuth),
	}
}

func summarizePath(in reportInput, p path) pathSummary {
	var s pathSummary
	if len(in.rounds) == 0 {
		return s
	}
	vol := in.w.bytes()
	var (
		produce, consume         []float64
		produceCPU, consumeCPU   time.Duration
		produceCPUs, consumeCPUs []float64
	)
	for _, rr := range in.rounds {
		r := rr.get(p)
		produce = append(produce, mbPerSec(vol, r.produce))
		consume = append(consume, mbPerSec(vol, r.consume))
		produceCPU += r.produceCPU
		consumeCPU += r.consumeCPU
		produceCPUs = append(produceCPUs, r.produceCPU.Seconds())
		consumeCPUs = append(consumeCPUs, r.consumeCPU.Seconds())
	}
	s.produce, s.consume = median(produce), median(consume)
	s.produceCPU, s.consumeCPU = median(produceCPUs), median(consumeCPUs)
	phaseGB := float64(vol) * float64(len(in.rounds)) / (1 << 30)
	s.produceCPUPerGB = produceCPU.Seconds() / phaseGB
	s.consumeCPUPerGB = consumeCPU.Seconds() / phaseGB
	s.cpuPerGB = (produceCPU + consumeCPU).Seconds() / (2 * phaseGB)
	return s
}

func (s summary) of(p path) pathSummary {
	switch p {
	case pathProxy:
		return s.proxy
	case pathProxyAuth:
		return s.auth
	}
	return s.direct
}

// writeReport prints the setup, a table of every round and the medians,
// and the summary lines.
func writeReport(out io.Writer, in reportInput) {
	s := summarize(in)
	o := in.opts
	auth := slices.Contains(in.paths, pathProxyAuth)
	fmt.Fprintln(out)
	fmt.Fprintln(out, "kafka-auth-proxy forwarding benchmark")
	fmt.Fprintf(out, "kafka:   %s, 1 broker, topics of %d partitions, replication factor 1\n", in.kafkaVersion, in.w.partitions)
	fmt.Fprintf(out, "records: %d B values of random bytes, no compression, acks=all, idempotent, linger %v, batches <= %d KiB\n",
		in.w.recordSize, producerLinger, batchMaxBytes>>10)
	fmt.Fprintf(out, "volume:  %.0f MiB (%d records) produced, then consumed from the start (no group), per path per round\n",
		float64(in.w.bytes())/(1<<20), in.w.records)
	fmt.Fprintf(out, "rounds:  %d, paths taking turns in an order rotating every round (%s), a fresh topic each, after a warm-up of %d MiB per path\n",
		len(in.rounds), orderExample(in.paths), o.warmupMiB)
	fmt.Fprintf(out, "broker:  data in %s\n", in.dataPlace)
	if auth {
		fmt.Fprintf(out, "auth:    proxy = serve --no-auth; proxy+auth = a second proxy with auth: sasl, the clients logging in with an API key of %s over SASL/PLAIN, "+
			"authorized by role bindings (DeveloperWrite and DeveloperRead on each topic, literal; DeveloperRead on groups %s*), no audit log\n",
			benchAccount, benchGroupPrefix)
	}
	fmt.Fprintln(out, "units:   MB = 2^20 and GB = 2^30 bytes of record values; proxy CPU = user+system of its process")
	fmt.Fprintln(out)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tpath\tproduce MB/s\tconsume MB/s\tproxy CPU s produce\tproxy CPU s consume\t")
	vol := in.w.bytes()
	for i, rr := range in.rounds {
		for _, p := range in.paths {
			r := rr.get(p)
			fmt.Fprintf(tw, "%d\t%s\t%.1f\t%.1f\t%s\t%s\t\n", i+1, p,
				mbPerSec(vol, r.produce), mbPerSec(vol, r.consume),
				cpuCell(p, r.produceCPU.Seconds()), cpuCell(p, r.consumeCPU.Seconds()))
		}
	}
	for _, p := range in.paths {
		ps := s.of(p)
		fmt.Fprintf(tw, "median\t%s\t%.1f\t%.1f\t%s\t%s\t\n", p, ps.produce, ps.consume,
			cpuCell(p, ps.produceCPU), cpuCell(p, ps.consumeCPU))
	}
	tw.Flush()
	fmt.Fprintln(out)

	fmt.Fprintf(out, "median MB/s, direct: produce %.1f, consume %.1f; proxy: produce %.1f, consume %.1f\n",
		s.direct.produce, s.direct.consume, s.proxy.produce, s.proxy.consume)
	fmt.Fprintf(out, "produce throughput ratio (proxy/direct): %.2f\n", s.proxy.produce/s.direct.produce)
	fmt.Fprintf(out, "consume throughput ratio (proxy/direct): %.2f\n", s.proxy.consume/s.direct.consume)
	fmt.Fprintf(out, "proxy CPU seconds per GB forwarded: %.2f\n", s.proxy.cpuPerGB)
	fmt.Fprintf(out, "proxy CPU seconds per GB by phase: produce %.2f, consume %.2f\n", s.proxy.produceCPUPerGB, s.proxy.consumeCPUPerGB)
	if !auth {
		return
	}
	fmt.Fprintf(out, "median MB/s, proxy+auth: produce %.1f, consume %.1f\n", s.auth.produce, s.auth.consume)
	fmt.Fprintf(out, "produce throughput ratio (proxy+auth/proxy): %.2f\n", s.auth.produce/s.proxy.produce)
	fmt.Fprintf(out, "consume throughput ratio (proxy+auth/proxy): %.2f\n", s.auth.consume/s.proxy.consume)
	fmt.Fprintf(out, "proxy+auth CPU seconds per GB forwarded: %.2f\n", s.auth.cpuPerGB)
	fmt.Fprintf(out, "proxy+auth CPU seconds per GB by phase: produce %.2f, consume %.2f\n", s.auth.produceCPUPerGB, s.auth.consumeCPUPerGB)
}

// cpuCell formats a proxy CPU time, "-" on the direct path.
func cpuCell(p path, seconds float64) string {
	if p == pathDirect {
		return "-"
	}
	return fmt.Sprintf("%.2f", seconds)
}

// orderExample shows the order of paths in the first rounds, e.g.
// "direct, proxy; proxy, direct; ...".
func orderExample(paths []path) string {
	var rounds []string
	for round := 1; round <= min(len(paths), 2); round++ {
		var names []string
		for _, p := range roundOrder(paths, round) {
			names = append(names, string(p))
		}
		rounds = append(rounds, strings.Join(names, ", "))
	}
	return strings.Join(append(rounds, "..."), "; ")
}

// mbPerSec is a throughput in MiB per second.
func mbPerSec(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / (1 << 20) / d.Seconds()
}

// median returns the median of v (the mean of the middle two for an even
// count), or 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	m := len(s) / 2
	if len(s)%2 == 0 {
		return (s[m-1] + s[m]) / 2
	}
	return s[m]
}

// idleReportInput is what the idle connections section of the report
// shows.
type idleReportInput struct {
	// standalone is set with -idle-only: the section is the whole report,
	// with a title of its own, and the baseline was taken after the start.
	standalone   bool
	kafkaVersion string
	// skipped, when set, says why the benchmark did not run.
	skipped string
	res     idleResult
}

// writeIdleReport prints the idle connections section: the proxy's
// resident memory before, with and after the connections, and its own
// metrics at those moments when it could read them.
func writeIdleReport(out io.Writer, in idleReportInput) {
	fmt.Fprintln(out)
	if in.skipped != "" {
		fmt.Fprintf(out, "idle connections: skipped (%s)\n", in.skipped)
		return
	}
	r := in.res
	baseline := "after the throughput rounds"
	if in.standalone {
		baseline = "after the start"
		fmt.Fprintln(out, "kafka-auth-proxy idle connections benchmark")
		fmt.Fprintf(out, "kafka:   %s, 1 broker\n", in.kafkaVersion)
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "idle connections (%s, %d authenticated, %s)\n", pathProxyAuth, r.opened, upstreamNote(r))
	fmt.Fprintf(out, "  each: ApiVersions, SASL/PLAIN login with the API key, Metadata of no topics; then idle\n")
	fmt.Fprintf(out, "  opened in %.1f s, %d at a time; %d of %d failed\n", r.openTime.Seconds(), idleConcurrency, r.failed, r.conns)
	fmt.Fprintf(out, "  memory: resident (VmRSS) of the %s process; before and open once it settled\n", pathProxyAuth)
	fmt.Fprintf(out, "  %-10s %7.1f MiB   (%s)\n", "RSS before", mib(r.before), baseline)
	fmt.Fprintf(out, "  %-10s %7.1f MiB   (%+.1f MiB, %.1f KiB per connection)\n", "RSS open", mib(r.open),
		deltaMiB(r.open, r.before), r.perConnKiB())
	fmt.Fprintf(out, "  %-10s %7.1f MiB   (%+.1f MiB over before, %s)\n", "RSS closed", mib(r.closed),
		deltaMiB(r.closed, r.before), closedNote(r))
	writeIdleMetrics(out, r.metrics)
}

// upstreamNote tells how many upstream connections the idle clients made
// the proxy open.
func upstreamNote(r idleResult) string {
	up, ok := r.upstreams()
	switch {
	case !ok:
		return "upstream connections not counted"
	case up >= r.opened:
		return "each with its upstream connection"
	}
	return fmt.Sprintf("%d upstream connections", up)
}

// closedNote tells when the closed figure was taken.
func closedNote(r idleResult) string {
	if r.returned {
		return fmt.Sprintf("after %.0f s", r.closedAfter.Seconds())
	}
	return fmt.Sprintf("still above before + %.0f%% + %d MiB after %.0f s",
		100*returnSlackFraction, returnSlackKiB/kibPerMiB, r.closedAfter.Seconds())
}

// writeIdleMetrics prints a table of the proxy's metrics at each moment of
// the idle benchmark, "-" where it did not report one; nothing when it
// reported none.
func writeIdleMetrics(out io.Writer, metrics [idleMoments]proxyMetrics) {
	if !slices.ContainsFunc(metrics[:], func(m proxyMetrics) bool { return m != nil }) {
		return
	}
	rows := []struct {
		label, name string
		bytes       bool
	}{
		{"Go heap in use", metricHeapInuse, true},
		{"Go stacks in use", metricStackInuse, true},
		{"goroutines", metricGoroutines, false},
		{"client connections", metricClientConns, false},
		{"upstream connections", metricUpstreams, false},
	}
	fmt.Fprintf(out, "  %-22s %10s %10s %10s\n", "proxy metrics", "before", "open", "closed")
	for _, row := range rows {
		var cells [idleMoments]string
		for i, m := range metrics {
			v, ok := m[row.name]
			switch {
			case !ok:
				cells[i] = "-"
			case row.bytes:
				cells[i] = fmt.Sprintf("%.1f MiB", v/(1<<20))
			default:
				cells[i] = fmt.Sprintf("%.0f", v)
			}
		}
		fmt.Fprintf(out, "    %-20s %10s %10s %10s\n", row.label, cells[idleBefore], cells[idleOpen], cells[idleClosed])
	}
}
