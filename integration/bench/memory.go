package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rss returns the proxy process's resident memory in KiB, VmRSS of
// /proc/<pid>/status.
func (p *proxyProcess) rss() (uint64, error) {
	statusPath := fmt.Sprintf("/proc/%d/status", p.pid())
	data, err := os.ReadFile(statusPath)
	if err != nil {
		return 0, fmt.Errorf("read %s memory: %w", p.name, err)
	}
	kib, err := parseVmRSS(data)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", statusPath, err)
	}
	return kib, nil
}

// parseVmRSS returns the VmRSS line of a /proc/<pid>/status file in KiB,
// e.g. "VmRSS:	   42100 kB". The kernel always prints that unit.
func parseVmRSS(status []byte) (uint64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		fields := strings.Fields(string(rest))
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q: want a number of kB", bytes.TrimSpace(line))
		}
		kib, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS: %w", err)
		}
		return kib, nil
	}
	return 0, errors.New("no VmRSS line (a kernel thread, or a process that has exited?)")
}

// maxOpenFiles returns the proxy process's soft limit of open files, from
// /proc/<pid>/limits.
func (p *proxyProcess) maxOpenFiles() (uint64, error) {
	limitsPath := fmt.Sprintf("/proc/%d/limits", p.pid())
	data, err := os.ReadFile(limitsPath)
	if err != nil {
		return 0, fmt.Errorf("read %s limits: %w", p.name, err)
	}
	n, err := parseMaxOpenFiles(data)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", limitsPath, err)
	}
	return n, nil
}

// parseMaxOpenFiles returns the soft limit of the "Max open files" line of
// a /proc/<pid>/limits file; "unlimited" is math.MaxUint64.
func parseMaxOpenFiles(limits []byte) (uint64, error) {
	for line := range bytes.Lines(limits) {
		rest, ok := bytes.CutPrefix(line, []byte("Max open files"))
		if !ok {
			continue
		}
		fields := strings.Fields(string(rest)) // soft, hard, units
		if len(fields) < 2 {
			return 0, fmt.Errorf("line %q: no soft and hard limit", bytes.TrimSpace(line))
		}
		if fields[0] == "unlimited" {
			return math.MaxUint64, nil
		}
		n, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("max open files: %w", err)
		}
		return n, nil
	}
	return 0, errors.New(`no "Max open files" line`)
}

// Memory figures are KiB, as /proc reports them.
const (
	kibPerMiB = 1 << 10
	// returnSlackKiB is what the proxy's memory may stay above the
	// baseline, besides returnSlackFraction of it, and count as returned.
	returnSlackKiB      = 2 * kibPerMiB
	returnSlackFraction = 0.10
	// steadyFraction is how little two consecutive samples of a settled
	// figure differ, relative to the earlier one.
	steadyFraction = 0.01
)

// steady reports whether the last two samples differ by less than
// steadyFraction of the earlier one.
func steady(samples []uint64) bool {
	if len(samples) < 2 {
		return false
	}
	prev, cur := samples[len(samples)-2], samples[len(samples)-1]
	diff := max(prev, cur) - min(prev, cur)
	return float64(diff) < steadyFraction*float64(prev)
}

// nearBaseline returns a condition for poll: the last sample is within
// returnSlackFraction of baseline plus returnSlackKiB.
func nearBaseline(baseline uint64) func([]uint64) bool {
	limit := baseline + uint64(returnSlackFraction*float64(baseline)) + returnSlackKiB
	return func(samples []uint64) bool {
		return len(samples) > 0 && samples[len(samples)-1] <= limit
	}
}

// pollResult is where a poll stopped.
type pollResult struct {
	last    uint64        // the last sample
	elapsed time.Duration // from the start of the poll to the last sample
	met     bool          // the condition held; false when the limit ended the poll
}

// poll takes a sample now and then every interval until done holds for
// the samples so far, or until limit has passed since the start.
func poll(ctx context.Context, sample func() (uint64, error), every, limit time.Duration, done func([]uint64) bool) (pollResult, error) {
	begin := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	var samples []uint64
	for {
		v, err := sample()
		if err != nil {
			return pollResult{}, err
		}
		samples = append(samples, v)
		res := pollResult{last: v, elapsed: time.Since(begin), met: done(samples)}
		if res.met || res.elapsed >= limit {
			return res, nil
		}
		select {
		case <-ctx.Done():
			return pollResult{}, context.Cause(ctx)
		case <-tick.C:
		}
	}
}

// The proxy's own metrics the idle benchmark reads from its /metrics, in
// the Prometheus text format: the Go runtime's view and its connection
// gauges.
const (
	metricHeapInuse   = "go_memstats_heap_inuse_bytes"
	metricStackInuse  = "go_memstats_stack_inuse_bytes"
	metricGoroutines  = "go_goroutines"
	metricClientConns = "kafka_auth_proxy_client_connections_active"
	metricUpstreams   = "kafka_auth_proxy_upstream_connections_active"
)

// proxyMetrics are the values of the metrics the proxy reported, by name;
// a metric it did not report is missing.
type proxyMetrics map[string]float64

// metricsTimeout bounds one scrape of /metrics.
const metricsTimeout = 5 * time.Second

// scrapeMetrics reads the proxy's /metrics and keeps the metrics named.
func (p *proxyProcess) scrapeMetrics(ctx context.Context, names ...string) (proxyMetrics, error) {
	ctx, cancel := context.WithTimeout(ctx, metricsTimeout)
	defer cancel()
	url := "http://" + p.metricsAddr + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s metrics: %w", p.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s metrics: %s answered %s", p.name, url, resp.Status)
	}
	m, err := parseMetrics(resp.Body, names...)
	if err != nil {
		return nil, fmt.Errorf("%s metrics: %w", p.name, err)
	}
	return m, nil
}

// parseMetrics reads samples in the Prometheus text format and returns the
// value of each metric named, summed over its label sets.
func parseMetrics(r io.Reader, names ...string) (proxyMetrics, error) {
	m := proxyMetrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 && i < len(name) {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				return nil, fmt.Errorf("line %q: unclosed labels", line)
			}
			name, rest = line[:i], line[j+1:]
		}
		if !slices.Contains(names, name) {
			continue
		}
		fields := strings.Fields(rest) // value [timestamp]
		if len(fields) == 0 {
			return nil, fmt.Errorf("line %q: no value", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", line, err)
		}
		m[name] += v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return m, nil
}
