// Command bench measures forwarding throughput of kafka-auth-proxy against a
// real single-node Apache Kafka, the proxy's CPU cost per forwarded byte,
// and its memory per idle authenticated connection.
//
// Usage:
//
//	make bench
//	go run ./integration/bench -proxy-bin ./bin/kafka-auth-proxy [-mb 512] [-rounds 3] [-idle-conns 5000]
//	go run ./integration/bench -proxy-bin ./bin/kafka-auth-proxy -idle-only [-idle-conns 5000]
//
// Other flags: -auth (true), -record-bytes (1024), -partitions (6),
// -warmup-mb (64), -tmpfs (true), -phase-timeout (5m), -proxy-log-level
// (warn), -idle-settle (1m); -h lists them.
//
// It starts one Kafka broker with integration/harness (needs Java 17+ and
// Maven; no Docker), then the proxy binary as subprocesses in front of it,
// on free loopback ports, and waits for each one's /readyz:
//
//   - proxy: serve --no-auth;
//   - proxy+auth (with -auth, the default): serve --config FILE, a file
//     with auth: sasl, one API key of the account sa-bench declared in it
//     (scoped to the broker's cluster id, read with a Metadata request),
//     and authorization role bindings for User:sa-bench: DeveloperWrite and
//     DeveloperRead on each topic of that path (literal) and DeveloperRead
//     on the groups prefixed bench-. Its clients log in with the key over
//     SASL/PLAIN. No audit log is written.
//
// All are always stopped at the end, also on error or Ctrl-C.
// With -tmpfs (the default) the broker keeps its data in /dev/shm, so that
// the kernel writing earlier rounds back to disk does not slow down later
// phases: the disk is not what is measured.
//
// After an unmeasured warm-up of every path, each round runs the same two
// phases directly against the broker and through each proxy, each path on
// a fresh topic (created, waited for and deleted with a direct admin
// client):
//
//   - produce: -mb MiB of 1 KiB records of random (incompressible) bytes
//     with franz-go: no compression, acks=all, idempotent, 5 ms linger,
//     1 MiB batches;
//   - consume: all of it back from the start with a plain consumer (no
//     group), checking the record count and bytes.
//
// Every client connection is checked to go where its path says: a proxied
// client that reached the broker directly (an unrewritten broker address)
// fails the run rather than measuring the broker twice.
//
// The paths take turns, and their order rotates every round (direct,
// proxy, proxy+auth; proxy, proxy+auth, direct; proxy+auth, direct, proxy;
// ...), to spread machine noise and drift over all; the report gives the
// median MB/s per path and phase, the proxy/direct and proxy+auth/proxy
// ratios of the medians, and each proxy's CPU time (user+system of its
// process from /proc/<pid>/stat, sampled around its own phases only) per
// GB it forwarded: the produced plus the consumed volume. MB and GB are
// 2^20 and 2^30 bytes of record values; protocol overhead is not counted.
// Phase times include the client's start (metadata, connections, and the
// SASL login on proxy+auth), on every path.
//
// After the rounds (or alone, with -idle-only: no warm-up, no rounds), the
// idle connections benchmark measures the resident memory of the
// proxy+auth process (VmRSS of /proc/<pid>/status) with -idle-conns
// authenticated clients that do nothing (0 skips it, and so does
// -auth=false, saying so):
//
//   - before: once the proxy is quiet after the rounds, or right after its
//     start with -idle-only, and its memory has settled (sampled every
//     500 ms until two samples in a row differ by less than 1%, for at most
//     10 s);
//   - open: -idle-conns client connections to its bootstrap address, 64 at
//     a time, each within 15 s, and each with a minimal raw Kafka client (no
//     kgo.Client, whose goroutines and buffers would dominate the bench):
//     ApiVersions v3, SaslHandshake v1 PLAIN, SaslAuthenticate v2 with the
//     API key, then a Metadata request of no topics, which has the proxy
//     open the client's upstream connection to the broker; then idle. More
//     than 1% of them failing fails the run. Once all are open, the memory
//     again once it has settled, and "per connection" is the growth over
//     before divided by the open connections;
//   - closed: after they are all closed, sampled every second until it is
//     within 10% of before plus 2 MiB, for at most -idle-settle.
//
// At each moment it also reads the proxy's /metrics when it can: the Go
// runtime's heap and stacks in use and goroutines, and its client and
// upstream connection gauges, which tell whether every client got its
// upstream connection. Every client costs the proxy two file descriptors
// (client and upstream) and the bench one: the bench raises its own soft
// RLIMIT_NOFILE to the hard limit and refuses to start when either
// process's limit cannot hold -idle-conns connections.
//
// Speed and memory are reported, not asserted: the exit status is non-zero
// only when something fails. The broker, the clients and the proxy share the
// machine's cores, so on a small or busy machine expect noise in the
// ratios; compare runs with more -rounds and a larger -mb.
// Progress goes to stderr, the report to stdout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	proxyBin      string
	volumeMiB     int
	rounds        int
	recordSize    int
	partitions    int
	warmupMiB     int
	phaseTimeout  time.Duration
	proxyLogLevel string
	tmpfs         bool
	auth          bool
	idleConns     int
	idleOnly      bool
	idleSettle    time.Duration
}

func parseFlags() (options, error) {
	var o options
	flag.StringVar(&o.proxyBin, "proxy-bin", "", "path to the kafka-auth-proxy binary (required; `make build` writes bin/kafka-auth-proxy)")
	flag.IntVar(&o.volumeMiB, "mb", 512, "MiB of record values to produce and consume per phase")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of direct and proxied phases; the report gives medians")
	flag.IntVar(&o.recordSize, "record-bytes", 1024, "size of each record value in bytes")
	flag.IntVar(&o.partitions, "partitions", 6, "partitions of each benchmark topic")
	flag.IntVar(&o.warmupMiB, "warmup-mb", 64, "MiB for an unmeasured warm-up of every path first (0: none)")
	flag.DurationVar(&o.phaseTimeout, "phase-timeout", 5*time.Minute, "give up on a produce or consume phase after this long")
	flag.StringVar(&o.proxyLogLevel, "proxy-log-level", "warn", "log level of the proxy subprocesses (their logs go to stderr only on failure)")
	flag.BoolVar(&o.tmpfs, "tmpfs", true, "keep the broker's data in /dev/shm (memory), so disk writeback does not skew later phases")
	flag.BoolVar(&o.auth, "auth", true, "also measure the proxy+auth path: a second proxy with SASL/PLAIN API key logins and role-binding authorization")
	flag.IntVar(&o.idleConns, "idle-conns", 5000, "authenticated idle connections to open to proxy+auth to measure its memory per connection, after the rounds (0: none)")
	flag.BoolVar(&o.idleOnly, "idle-only", false, "run only the idle connections benchmark, no warm-up or rounds")
	flag.DurationVar(&o.idleSettle, "idle-settle", time.Minute, "how long to wait for proxy+auth's memory to return once the idle connections are closed")
	flag.Parse()
	if flag.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", flag.Args())
	}
	switch {
	case o.proxyBin == "":
		return o, errors.New("-proxy-bin is required")
	case o.volumeMiB <= 0:
		return o, fmt.Errorf("-mb must be positive, got %d", o.volumeMiB)
	case o.rounds <= 0:
		return o, fmt.Errorf("-rounds must be positive, got %d", o.rounds)
	case o.recordSize <= 0 || o.recordSize > maxRecordBytes:
		return o, fmt.Errorf("-record-bytes must be in 1..%d, got %d", maxRecordBytes, o.recordSize)
	case o.warmupMiB < 0:
		return o, fmt.Errorf("-warmup-mb must not be negative, got %d", o.warmupMiB)
	case o.partitions <= 0:
		return o, fmt.Errorf("-partitions must be positive, got %d", o.partitions)
	case o.phaseTimeout <= 0:
		return o, fmt.Errorf("-phase-timeout must be positive, got %v", o.phaseTimeout)
	case o.idleConns < 0:
		return o, fmt.Errorf("-idle-conns must not be negative, got %d", o.idleConns)
	case o.idleSettle <= 0:
		return o, fmt.Errorf("-idle-settle must be positive, got %v", o.idleSettle)
	case o.idleOnly && o.idleConns == 0:
		return o, errors.New("-idle-only needs idle connections, -idle-conns is 0")
	case o.idleOnly && !o.auth:
		return o, errors.New("-idle-only needs -auth: the idle connections log in on the proxy+auth path")
	}
	return o, nil
}

func main() {
	log.SetFlags(log.Ltime)
	log.SetPrefix("bench: ")
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once; children die with us (Pdeathsig)
	}()
	err = run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		log.Printf("FAILED: %v", err)
		os.Exit(1)
	}
}

// run starts the cluster and the proxy, runs every round and then the idle
// connections benchmark, and writes the report to out. Everything it
// started is stopped before it returns.
func run(ctx context.Context, o options, out io.Writer) (err error) {
	var w *workload
	if !o.idleOnly {
		if w, err = newWorkload(o); err != nil {
			return err
		}
	}
	env, err := startEnv(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		log.Printf("stopping the proxies and kafka")
		if stopErr := env.stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
	}()
	// A proxy that dies mid-run fails the run at once instead of leaving
	// the clients retrying until the phase timeout; env.stop reports how.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	for _, px := range env.proxies() {
		go func() {
			select {
			case <-px.exited:
				cancel(fmt.Errorf("%s exited unexpectedly", px.name))
			case <-ctx.Done():
			}
		}()
	}

	if !o.idleOnly {
		if err := runThroughput(ctx, env, w, o, out); err != nil {
			return err
		}
	}
	return idlePhase(ctx, env, o, out)
}

// runThroughput runs the warm-up and every round and writes their report
// to out.
func runThroughput(ctx context.Context, env *env, w *workload, o options, out io.Writer) error {
	r := &runner{env: env, w: w, phaseTimeout: o.phaseTimeout}
	if o.warmupMiB > 0 {
		if err := r.warmUp(ctx, o.warmupMiB); err != nil {
			return err
		}
	}
	rounds, err := r.runRounds(ctx, o.rounds)
	if err != nil {
		return err
	}
	writeReport(out, reportInput{
		kafkaVersion: env.kafkaVersion,
		dataPlace:    env.dataPlace(),
		opts:         o,
		w:            w,
		paths:        env.paths(),
		rounds:       rounds,
	})
	return nil
}
