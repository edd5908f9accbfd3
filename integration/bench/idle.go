package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	// idleConcurrency is how many idle connections are opened at a time.
	idleConcurrency = 64
	// idleConnTimeout bounds the opening of one idle connection: the dial,
	// the login and the Metadata request.
	idleConnTimeout = 15 * time.Second
	// idleMaxFailedPercent is the share of idle connections that may fail
	// to open without failing the benchmark.
	idleMaxFailedPercent = 1
	// fileReserve is what a process may need to have open besides the idle
	// connections: its listeners, the broker connections of its own, files.
	fileReserve = 256
	// The baseline and the open figure are taken once the proxy's memory
	// has settled: sampled every settleEvery until two samples in a row
	// are steady, or settleLimit has passed.
	settleEvery = 500 * time.Millisecond
	settleLimit = 10 * time.Second
	// returnEvery is how often the memory is sampled once the connections
	// are closed, up to -idle-settle.
	returnEvery = time.Second
	// returnLogEvery is how many of those samples make one progress line.
	returnLogEvery = 10
)

// The moments the idle benchmark reads the proxy's metrics at.
const (
	idleBefore = iota
	idleOpen
	idleClosed
	idleMoments
)

// idleResult is what the idle connections benchmark measured. Memory
// figures are the proxy process's resident memory in KiB.
type idleResult struct {
	conns    int           // connections asked for
	opened   int           // logged in and left idle
	failed   int           // conns - opened
	openTime time.Duration // to open them all
	before   uint64        // settled, before any was opened
	open     uint64        // settled, with all of them open and idle
	closed   uint64        // the last sample after they were closed
	// closedAfter is the time from closing the connections to the closed
	// sample; returned tells whether that sample was near the baseline
	// (nearBaseline) or -idle-settle ended the wait.
	closedAfter time.Duration
	returned    bool
	// metrics are the proxy's own metrics at each moment; nil when its
	// /metrics could not be read.
	metrics [idleMoments]proxyMetrics
}

// perConnKiB is the resident memory each open connection added.
func (r idleResult) perConnKiB() float64 {
	if r.opened == 0 {
		return 0
	}
	return (float64(r.open) - float64(r.before)) / float64(r.opened)
}

// upstreams is how many more upstream connections the proxy had open with
// the idle connections than before them, if its metrics tell.
func (r idleResult) upstreams() (int, bool) {
	before, ok1 := r.metrics[idleBefore][metricUpstreams]
	open, ok2 := r.metrics[idleOpen][metricUpstreams]
	return int(open - before), ok1 && ok2
}

// idlePhase runs the idle connections benchmark as o asks, on the
// proxy+auth path, and appends its section to the report on out.
func idlePhase(ctx context.Context, e *env, o options, out io.Writer) error {
	if o.idleConns == 0 {
		return nil
	}
	if e.authProxy == nil {
		log.Printf("idle connections: skipped: they log in on the proxy+auth path, which -auth=false leaves out")
		writeIdleReport(out, idleReportInput{skipped: "-auth=false; the connections log in on the proxy+auth path"})
		return nil
	}
	res, err := runIdle(ctx, e.authProxy, e.auth.plainToken(), o.idleConns, o.idleSettle)
	if err != nil {
		return fmt.Errorf("idle connections: %w", err)
	}
	writeIdleReport(out, idleReportInput{standalone: o.idleOnly, kafkaVersion: e.kafkaVersion, res: res})
	return nil
}

// runIdle measures px's resident memory before, with n idle connections
// that logged in with token (the SASL/PLAIN message) and made a Metadata
// request, and after they were closed, waiting up to settle for the memory
// to return.
func runIdle(ctx context.Context, px *proxyProcess, token []byte, n int, settle time.Duration) (idleResult, error) {
	res := idleResult{conns: n}
	if err := checkFileLimits(px, n); err != nil {
		return res, err
	}
	var err error
	if res.before, err = settleRSS(ctx, px); err != nil {
		return res, err
	}
	res.metrics[idleBefore] = idleMetrics(ctx, px)
	log.Printf("idle: %s RSS before: %.1f MiB", px.name, mib(res.before))

	log.Printf("idle: opening %d connections to %s, %d at a time (ApiVersions, SASL/PLAIN login, Metadata)", n, px.bootstrap, idleConcurrency)
	begin := time.Now()
	conns, firstErr := openIdleConns(ctx, px.bootstrap, token, n)
	defer conns.close()
	res.openTime = time.Since(begin)
	if ctx.Err() != nil {
		return res, context.Cause(ctx)
	}
	res.opened = len(conns.conns)
	res.failed = n - res.opened
	if tooManyFailed(n, res.failed) {
		return res, fmt.Errorf("%d of %d connections failed to open (more than %d%%); the first: %w", res.failed, n, idleMaxFailedPercent, firstErr)
	}
	if res.failed > 0 {
		log.Printf("idle: %d of %d connections failed to open; the first: %v", res.failed, n, firstErr)
	}
	log.Printf("idle: %d connections open in %v; waiting for %s's memory to settle", res.opened, res.openTime.Round(time.Millisecond), px.name)
	if res.open, err = settleRSS(ctx, px); err != nil {
		return res, err
	}
	res.metrics[idleOpen] = idleMetrics(ctx, px)
	log.Printf("idle: %s RSS open: %.1f MiB (%+.1f MiB, %.1f KiB per connection)", px.name, mib(res.open),
		deltaMiB(res.open, res.before), res.perConnKiB())
	if up, ok := res.upstreams(); ok && up < res.opened {
		log.Printf("idle: %s has only %d more upstream connections for the %d idle clients", px.name, up, res.opened)
	}

	if err := conns.close(); err != nil {
		return res, err
	}
	log.Printf("idle: connections closed; waiting up to %v for %s's memory to return near %.1f MiB", settle, px.name, mib(res.before))
	p, err := poll(ctx, loggedRSS(px, time.Now(), returnLogEvery), returnEvery, settle, nearBaseline(res.before))
	if err != nil {
		return res, err
	}
	res.closed, res.closedAfter, res.returned = p.last, p.elapsed, p.met
	res.metrics[idleClosed] = idleMetrics(ctx, px)
	log.Printf("idle: %s RSS closed: %.1f MiB (%+.1f MiB over before, %s)", px.name, mib(res.closed),
		deltaMiB(res.closed, res.before), closedNote(res))
	return res, nil
}

// settleRSS waits until px's resident memory is steady (or settleLimit has
// passed) and returns the last sample.
func settleRSS(ctx context.Context, px *proxyProcess) (uint64, error) {
	p, err := poll(ctx, px.rss, settleEvery, settleLimit, steady)
	if err != nil {
		return 0, err
	}
	if !p.met {
		log.Printf("idle: %s RSS still changing by %.0f%% or more after %v; taking the last sample", px.name, 100*steadyFraction, settleLimit)
	}
	return p.last, nil
}

// loggedRSS is px.rss that also logs every logEvery-th sample, with the
// time since since.
func loggedRSS(px *proxyProcess, since time.Time, logEvery int) func() (uint64, error) {
	n := 0
	return func() (uint64, error) {
		kib, err := px.rss()
		if n++; err == nil && n%logEvery == 0 {
			log.Printf("idle: %s RSS %.1f MiB, %.0f s after the close", px.name, mib(kib), time.Since(since).Seconds())
		}
		return kib, err
	}
}

// idleMetrics reads the proxy's metrics the report shows; nil, after a
// message, when it cannot.
func idleMetrics(ctx context.Context, px *proxyProcess) proxyMetrics {
	m, err := px.scrapeMetrics(ctx, metricHeapInuse, metricStackInuse, metricGoroutines, metricClientConns, metricUpstreams)
	if err != nil {
		log.Printf("idle: no Go runtime view: %v", err)
		return nil
	}
	return m
}

// tooManyFailed reports whether failed of n connections is more than
// idleMaxFailedPercent.
func tooManyFailed(n, failed int) bool { return failed*100 > n*idleMaxFailedPercent }

// checkFileLimits raises the bench's soft limit of open files to its hard
// limit and checks that it and px may open what n idle connections need.
func checkFileLimits(px *proxyProcess, n int) error {
	bench, err := raiseFileLimit()
	if err != nil {
		return err
	}
	proxy, err := px.maxOpenFiles()
	if err != nil {
		return err
	}
	return fileLimitError(n, bench, proxy, px.name)
}

// raiseFileLimit sets the soft RLIMIT_NOFILE of the bench process to its
// hard limit, if it is not there yet (Go does it at start since 1.19), and
// returns the soft limit.
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("limit of open files: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("raise the limit of open files to %d: %w", lim.Max, err)
		}
	}
	return lim.Cur, nil
}

// fileLimitError explains why n idle connections cannot be opened when the
// bench may open bench files and the proxy (named proxyName) proxy files:
// each costs the bench one and the proxy two (the client's and its
// upstream connection).
func fileLimitError(n int, bench, proxy uint64, proxyName string) error {
	var errs []error
	if need := uint64(n) + fileReserve; bench < need {
		errs = append(errs, fmt.Errorf("the bench may open %d files (RLIMIT_NOFILE), it needs about %d for %d connections", bench, need, n))
	}
	if need := 2*uint64(n) + fileReserve; proxy < need {
		errs = append(errs, fmt.Errorf("%s may open %d files (Max open files), it needs about %d for %d client and %d upstream connections", proxyName, proxy, need, n, n))
	}
	if len(errs) > 0 {
		return fmt.Errorf("cannot open %d idle connections (lower -idle-conns or raise the hard limit, ulimit -Hn): %w", n, errors.Join(errs...))
	}
	return nil
}

// connSet is the open idle connections.
type connSet struct {
	conns []*rawConn
}

// close closes every connection; later calls do nothing.
func (s *connSet) close() error {
	var errs []error
	for _, c := range s.conns {
		if err := c.close(); err != nil {
			errs = append(errs, err)
		}
	}
	s.conns = nil
	if len(errs) > 0 {
		return fmt.Errorf("close %d idle connections: %w", len(errs), errs[0])
	}
	return nil
}

// openIdleConns opens n idle connections to addr, idleConcurrency at a
// time, and returns those that opened and the first error of the others.
func openIdleConns(ctx context.Context, addr string, token []byte, n int) (*connSet, error) {
	conns := make([]*rawConn, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(idleConcurrency, n) {
		wg.Go(func() {
			for i := range next {
				conns[i], errs[i] = openIdleConn(ctx, addr, token)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	s := &connSet{}
	var first error
	for i, c := range conns {
		if c != nil {
			s.conns = append(s.conns, c)
		} else if first == nil {
			first = errs[i]
		}
	}
	return s, first
}

// openIdleConn connects to addr, asks for the API versions, logs in with
// token over SASL/PLAIN and asks for metadata of no topics, which makes
// the proxy open the client's upstream connection, all within
// idleConnTimeout; then it leaves the connection idle.
func openIdleConn(ctx context.Context, addr string, token []byte) (*rawConn, error) {
	ctx, cancel := context.WithTimeout(ctx, idleConnTimeout)
	defer cancel()
	c, err := dialRaw(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, causeOr(ctx, err))
	}
	if err := c.openSession(ctx, token); err != nil {
		return nil, errors.Join(err, c.close())
	}
	if err := c.nc.SetDeadline(time.Time{}); err != nil {
		return nil, errors.Join(err, c.close())
	}
	return c, nil
}

// openSession is the client's side of openIdleConn after the dial.
func (c *rawConn) openSession(ctx context.Context, token []byte) error {
	versions, err := c.apiVersions(ctx)
	if err != nil {
		return err
	}
	for _, need := range []struct {
		key kmsg.Key
		v   int16
	}{
		{kmsg.SASLHandshake, rawSASLHandshakeVersion},
		{kmsg.SASLAuthenticate, rawSASLAuthenticateVersion},
		{kmsg.Metadata, rawMinMetadataVersion},
	} {
		if err := needVersion(versions, need.key, need.v); err != nil {
			return err
		}
	}
	if err := c.loginPlain(ctx, token); err != nil {
		return err
	}
	return c.metadataNoTopics(ctx, min(versions[kmsg.Metadata.Int16()], kmsg.NewPtrMetadataRequest().MaxVersion()))
}

// mib converts KiB to MiB.
func mib(kib uint64) float64 { return float64(kib) / kibPerMiB }

// deltaMiB is a - b in MiB.
func deltaMiB(a, b uint64) float64 { return (float64(a) - float64(b)) / kibPerMiB }
