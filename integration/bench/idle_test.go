package main

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

func TestParseVmRSS(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string
		want   uint64
		err    bool
	}{
		{"tabs and spaces", "Name:\tkafka-auth-prox\nVmHWM:\t   52000 kB\nVmRSS:\t   42100 kB\nRssAnon:\t   30000 kB\n", 42100, false},
		{"last line without newline", "Name:\tx\nVmRSS: 7 kB", 7, false},
		{"zero", "VmRSS:\t       0 kB\n", 0, false},
		{"no VmRSS (kernel thread)", "Name:\tkthreadd\nState:\tS (sleeping)\n", 0, true},
		{"not VmRSS but similar", "VmRSSx:\t1 kB\n", 0, true},
		{"other unit", "VmRSS:\t 42 MB\n", 0, true},
		{"no unit", "VmRSS:\t 42\n", 0, true},
		{"not a number", "VmRSS:\t 4x2 kB\n", 0, true},
	} {
		got, err := parseVmRSS([]byte(tc.status))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: parseVmRSS = %d, %v; want %d, error %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestParseVmRSSSelf(t *testing.T) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	kib, err := parseVmRSS(data)
	if err != nil {
		t.Fatal(err)
	}
	if kib < 1<<10 { // a Go test binary is more than 1 MiB
		t.Errorf("VmRSS of the test = %d KiB", kib)
	}
}

func TestParseMaxOpenFiles(t *testing.T) {
	const header = "Limit                     Soft Limit           Hard Limit           Units     \n" +
		"Max processes             96363                96363                processes \n"
	for _, tc := range []struct {
		name, limits string
		want         uint64
		err          bool
	}{
		{"numbers", header + "Max open files            20000                20000                files     \n", 20000, false},
		{"soft below hard", header + "Max open files            1024                 524288               files     \n", 1024, false},
		{"unlimited", header + "Max open files            unlimited            unlimited            files     \n", math.MaxUint64, false},
		{"no line", header, 0, true},
		{"truncated", header + "Max open files            1024\n", 0, true},
		{"bad number", header + "Max open files            -1                   20000                files     \n", 0, true},
	} {
		got, err := parseMaxOpenFiles([]byte(tc.limits))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: parseMaxOpenFiles = %d, %v; want %d, error %v", tc.name, got, err, tc.want, tc.err)
		}
	}
	if data, err := os.ReadFile("/proc/self/limits"); err == nil {
		if _, err := parseMaxOpenFiles(data); err != nil {
			t.Errorf("/proc/self/limits: %v", err)
		}
	}
}

func TestSteadyAndNearBaseline(t *testing.T) {
	for _, tc := range []struct {
		samples []uint64
		want    bool
	}{
		{nil, false},
		{[]uint64{1000}, false},
		{[]uint64{1000, 1010}, false}, // 1.0%: not less than 1%
		{[]uint64{1000, 1009}, true},
		{[]uint64{1000, 991}, true},
		{[]uint64{1000, 990}, false},
		{[]uint64{5000, 1000, 1000}, true}, // only the last two count
		{[]uint64{1000, 1000, 5000}, false},
	} {
		if got := steady(tc.samples); got != tc.want {
			t.Errorf("steady(%v) = %v, want %v", tc.samples, got, tc.want)
		}
	}
	near := nearBaseline(40000) // up to 40000 + 4000 + 2048 KiB
	for _, tc := range []struct {
		samples []uint64
		want    bool
	}{
		{nil, false},
		{[]uint64{46048}, true},
		{[]uint64{46049}, false},
		{[]uint64{30000}, true},
		{[]uint64{30000, 90000}, false},
	} {
		if got := near(tc.samples); got != tc.want {
			t.Errorf("nearBaseline(40000)(%v) = %v, want %v", tc.samples, got, tc.want)
		}
	}
}

// samples returns a sampler that yields vals in turn, then the last again.
func samples(vals ...uint64) func() (uint64, error) {
	i := 0
	return func() (uint64, error) {
		v := vals[min(i, len(vals)-1)]
		i++
		return v, nil
	}
}

func TestPoll(t *testing.T) {
	ctx := t.Context()
	const every = time.Millisecond
	for _, tc := range []struct {
		name     string
		sample   func() (uint64, error)
		limit    time.Duration
		done     func([]uint64) bool
		wantLast uint64
		wantMet  bool
	}{
		{"settles", samples(100000, 80000, 60000, 59500, 10), time.Minute, steady, 59500, true},
		{"settled at once", samples(5000, 5000), time.Minute, steady, 5000, true},
		{"returns", samples(150000, 90000, 46000, 45000), time.Minute, nearBaseline(40000), 46000, true},
		{"already near", samples(41000), time.Minute, nearBaseline(40000), 41000, true},
		{"limit ends it", samples(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192), 3 * every, steady, 0, false},
	} {
		res, err := poll(ctx, tc.sample, every, tc.limit, tc.done)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if res.met != tc.wantMet || (tc.wantMet && res.last != tc.wantLast) {
			t.Errorf("%s: poll = %+v, want last %d, met %v", tc.name, res, tc.wantLast, tc.wantMet)
		}
		if !res.met && res.elapsed < tc.limit {
			t.Errorf("%s: gave up after %v, before the limit %v", tc.name, res.elapsed, tc.limit)
		}
	}

	boom := errors.New("boom")
	if _, err := poll(ctx, func() (uint64, error) { return 0, boom }, every, time.Minute, steady); !errors.Is(err, boom) {
		t.Errorf("sampler error: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := poll(cancelled, samples(1, 2, 3), time.Hour, time.Hour, steady); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestParseMetrics(t *testing.T) {
	const text = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 21
go_memstats_heap_inuse_bytes 5.2e+06
go_memstats_heap_inuse_bytes_total 1
kafka_auth_proxy_client_connections_active{kind="bootstrap"} 3
kafka_auth_proxy_client_connections_active{kind="broker",note="a b}c"} 2 1700000000000
kafka_auth_proxy_upstream_connections_total 9
go_gc_duration_seconds{quantile="0.5"} not-wanted
`
	got, err := parseMetrics(strings.NewReader(text), metricGoroutines, metricHeapInuse, metricClientConns, metricUpstreams)
	if err != nil {
		t.Fatal(err)
	}
	want := proxyMetrics{metricGoroutines: 21, metricHeapInuse: 5.2e6, metricClientConns: 5}
	if len(got) != len(want) {
		t.Errorf("parseMetrics = %v, want %v", got, want)
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
	for _, bad := range []string{
		"go_goroutines x\n",
		"go_goroutines\n",
		`kafka_auth_proxy_client_connections_active{kind="broker" 1` + "\n",
	} {
		if m, err := parseMetrics(strings.NewReader(bad), metricGoroutines, metricClientConns); err == nil {
			t.Errorf("parseMetrics(%q) = %v, no error", bad, m)
		}
	}
}

func TestResponseBody(t *testing.T) {
	for _, tc := range []struct {
		name     string
		frame    []byte
		flexible bool
		want     []byte
		err      bool
	}{
		{"header v0", []byte{0, 0, 0, 7, 0xaa, 0xbb}, false, []byte{0xaa, 0xbb}, false},
		{"header v1, no tags", []byte{0, 0, 0, 7, 0, 0xaa}, true, []byte{0xaa}, false},
		{"header v1, one tag", []byte{0, 0, 0, 7, 1, 5, 2, 0x11, 0x22, 0xaa}, true, []byte{0xaa}, false},
		{"header v1, two tags, empty body", []byte{0, 0, 0, 7, 2, 0, 0, 1, 1, 0x11}, true, []byte{}, false},
		{"other correlation id", []byte{0, 0, 0, 8, 0xaa}, false, nil, true},
		{"short", []byte{0, 0, 7}, false, nil, true},
		{"tag longer than the frame", []byte{0, 0, 0, 7, 1, 5, 9, 0x11}, true, nil, true},
		{"no tag count", []byte{0, 0, 0, 7}, true, nil, true},
	} {
		got, err := responseBody(tc.frame, 7, tc.flexible)
		if (err != nil) != tc.err || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: responseBody = %x, %v; want %x, error %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestReadFrame(t *testing.T) {
	got, err := readFrame(bytes.NewReader([]byte{0, 0, 0, 5, 0, 0, 0, 1, 0xaa, 0xff}))
	if err != nil || !bytes.Equal(got, []byte{0, 0, 0, 1, 0xaa}) {
		t.Errorf("readFrame = %x, %v", got, err)
	}
	for _, bad := range [][]byte{
		{0, 0, 0},                   // no size
		{0, 0, 0, 3, 1, 2, 3},       // shorter than a correlation id
		{0x7f, 0, 0, 0},             // too large
		{0xff, 0xff, 0xff, 0xff},    // negative
		{0, 0, 0, 6, 0, 0, 0, 1, 1}, // truncated
	} {
		if _, err := readFrame(bytes.NewReader(bad)); err == nil {
			t.Errorf("readFrame(%x): no error", bad)
		}
	}
}

func TestPlainToken(t *testing.T) {
	a := &authSetup{keyID: "KEYID", secret: "s3cr3t"}
	if got := string(a.plainToken()); got != "\x00KEYID\x00s3cr3t" {
		t.Errorf("plainToken = %q", got)
	}
}

// TestOpenIdleConn opens raw connections to an in-process fake Kafka with
// SASL/PLAIN: the login and Metadata must work against another
// implementation of the protocol, and a wrong secret must fail.
func TestOpenIdleConn(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("PLAIN", "KEYID", "s3cr3t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	ctx := t.Context()

	conns, first := openIdleConns(ctx, addr, []byte("\x00KEYID\x00s3cr3t"), 5)
	if first != nil || len(conns.conns) != 5 {
		t.Fatalf("opened %d of 5; first error: %v", len(conns.conns), first)
	}
	if err := conns.close(); err != nil {
		t.Fatal(err)
	}
	if err := conns.close(); err != nil || conns.conns != nil {
		t.Fatalf("second close: %v, %d left", err, len(conns.conns))
	}

	conns, first = openIdleConns(ctx, addr, []byte("\x00KEYID\x00wrong"), 2)
	defer conns.close()
	if len(conns.conns) != 0 || first == nil || !strings.Contains(first.Error(), "SASLAuthenticate") {
		t.Fatalf("wrong secret: opened %d, first error %v", len(conns.conns), first)
	}
}

func TestTooManyFailed(t *testing.T) {
	for _, tc := range []struct {
		n, failed int
		want      bool
	}{
		{5000, 0, false},
		{5000, 50, false},
		{5000, 51, true},
		{10, 0, false},
		{10, 1, true},
		{100, 1, false},
	} {
		if got := tooManyFailed(tc.n, tc.failed); got != tc.want {
			t.Errorf("tooManyFailed(%d, %d) = %v, want %v", tc.n, tc.failed, got, tc.want)
		}
	}
}

func TestFileLimitError(t *testing.T) {
	for _, tc := range []struct {
		n            int
		bench, proxy uint64
		want         []string // in the error; none: no error
	}{
		{5000, 20000, 20000, nil},
		{9872, 20000, 20000, nil},
		{9873, 20000, 20000, []string{"proxy+auth may open 20000 files", "needs about 20002"}},
		{5000, 1024, 20000, []string{"the bench may open 1024 files", "lower -idle-conns"}},
		{20000, 20000, 20000, []string{"the bench may open", "proxy+auth may open"}},
		{5000, math.MaxUint64, math.MaxUint64, nil},
	} {
		err := fileLimitError(tc.n, tc.bench, tc.proxy, "proxy+auth")
		if (err != nil) != (tc.want != nil) {
			t.Errorf("fileLimitError(%d, %d, %d) = %v", tc.n, tc.bench, tc.proxy, err)
			continue
		}
		for _, s := range tc.want {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("fileLimitError(%d, %d, %d) = %q, want %q in it", tc.n, tc.bench, tc.proxy, err, s)
			}
		}
	}
}

func TestIdleReport(t *testing.T) {
	const mib = 1 << 20
	metrics := [idleMoments]proxyMetrics{
		{metricHeapInuse: 5 * mib, metricStackInuse: 0.5 * mib, metricGoroutines: 21, metricClientConns: 0, metricUpstreams: 0},
		{metricHeapInuse: 60.25 * mib, metricStackInuse: 40 * mib, metricGoroutines: 10021, metricClientConns: 5000, metricUpstreams: 5000},
		{metricHeapInuse: 6 * mib, metricStackInuse: 0.5 * mib, metricGoroutines: 21, metricClientConns: 0, metricUpstreams: 0},
	}
	res := idleResult{
		conns: 5000, opened: 5000, openTime: 4200 * time.Millisecond,
		before: 42189, open: 143155, closed: 46080, // 41.2, 139.8, 45.0 MiB
		closedAfter: 12 * time.Second, returned: true, metrics: metrics,
	}
	fewer := res
	fewer.opened, fewer.failed = 4990, 10
	fewer.metrics[idleOpen] = proxyMetrics{metricUpstreams: 12}
	stuck := res
	stuck.closed, stuck.closedAfter, stuck.returned = 73728, time.Minute, false
	stuck.metrics = [idleMoments]proxyMetrics{}

	for _, tc := range []struct {
		name    string
		in      idleReportInput
		want    []string // lines
		notWant []string // substrings
	}{
		{
			name: "after the rounds",
			in:   idleReportInput{res: res},
			want: []string{
				"idle connections (proxy+auth, 5000 authenticated, each with its upstream connection)",
				"  opened in 4.2 s, 64 at a time; 0 of 5000 failed",
				"  RSS before    41.2 MiB   (after the throughput rounds)",
				"  RSS open     139.8 MiB   (+98.6 MiB, 20.2 KiB per connection)",
				"  RSS closed    45.0 MiB   (+3.8 MiB over before, after 12 s)",
				"  proxy metrics              before       open     closed",
				"    Go heap in use          5.0 MiB   60.2 MiB    6.0 MiB",
				"    Go stacks in use        0.5 MiB   40.0 MiB    0.5 MiB",
				"    goroutines                   21      10021         21",
				"    upstream connections          0       5000          0",
			},
			notWant: []string{"benchmark\n", "kafka:"},
		},
		{
			name: "fewer upstreams, some failed, partial metrics",
			in:   idleReportInput{res: fewer},
			want: []string{
				"idle connections (proxy+auth, 4990 authenticated, 12 upstream connections)",
				"  opened in 4.2 s, 64 at a time; 10 of 5000 failed",
				"  RSS open     139.8 MiB   (+98.6 MiB, 20.2 KiB per connection)",
				"    Go heap in use          5.0 MiB          -    6.0 MiB",
			},
		},
		{
			name: "memory not returned, no metrics",
			in:   idleReportInput{res: stuck},
			want: []string{
				"idle connections (proxy+auth, 5000 authenticated, upstream connections not counted)",
				"  RSS closed    72.0 MiB   (+30.8 MiB over before, still above before + 10% + 2 MiB after 60 s)",
			},
			notWant: []string{"proxy metrics"},
		},
		{
			name: "standalone",
			in:   idleReportInput{standalone: true, kafkaVersion: "4.1.0", res: res},
			want: []string{
				"kafka-auth-proxy idle connections benchmark",
				"kafka:   4.1.0, 1 broker",
				"  RSS before    41.2 MiB   (after the start)",
			},
		},
		{
			name:    "skipped",
			in:      idleReportInput{skipped: "-auth=false; the connections log in on the proxy+auth path"},
			want:    []string{"idle connections: skipped (-auth=false; the connections log in on the proxy+auth path)"},
			notWant: []string{"RSS"},
		},
	} {
		var out bytes.Buffer
		writeIdleReport(&out, tc.in)
		for _, line := range tc.want {
			if !strings.Contains(out.String(), "\n"+line+"\n") {
				t.Errorf("%s: no line %q in:\n%s", tc.name, line, out.String())
			}
		}
		for _, s := range tc.notWant {
			if strings.Contains(out.String(), s) {
				t.Errorf("%s: %q in:\n%s", tc.name, s, out.String())
			}
		}
	}
}
