package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	// maxRecordBytes keeps one record well inside a batch.
	maxRecordBytes = 512 << 10
	// batchMaxBytes is the producer's batch limit: 1 MiB, just under the
	// broker's default message.max.bytes (1 MiB + 12).
	batchMaxBytes = 1 << 20
	// producerLinger lets batches fill without holding records long.
	producerLinger = 5 * time.Millisecond
	// maxBufferedBytes bounds what the producer holds before Produce blocks.
	maxBufferedBytes = 64 << 20
	// poolBytes is the random data record values are cut from: far more
	// than a batch, so no batch repeats itself.
	poolBytes = 16 << 20
)

// workload is the data one phase produces: records values cut from a pool of
// random bytes generated once, so producing costs no generation time.
type workload struct {
	recordSize int
	records    int
	partitions int
	pool       [][]byte // distinct record values, used in turn
}

func newWorkload(o options) (*workload, error) {
	volume := int64(o.volumeMiB) << 20
	records := volume / int64(o.recordSize)
	if records == 0 {
		return nil, fmt.Errorf("-mb %d holds no record of %d bytes", o.volumeMiB, o.recordSize)
	}
	// ChaCha8 output is incompressible; a fixed seed makes runs alike.
	rng := rand.NewChaCha8([32]byte{'k', 'a', 'f', 'k', 'a'})
	data := make([]byte, max(poolBytes, o.recordSize))
	if _, err := rng.Read(data); err != nil {
		return nil, fmt.Errorf("generate record values: %w", err)
	}
	w := &workload{recordSize: o.recordSize, records: int(records), partitions: o.partitions}
	for off := 0; off+o.recordSize <= len(data); off += o.recordSize {
		w.pool = append(w.pool, data[off:off+o.recordSize:off+o.recordSize])
	}
	return w, nil
}

// withVolume returns the same workload cut to mib MiB.
func (w *workload) withVolume(mib int) *workload {
	c := *w
	c.records = max(1, int((int64(mib)<<20)/int64(w.recordSize)))
	return &c
}

// bytes is the volume of record values in one phase.
func (w *workload) bytes() int64 { return int64(w.records) * int64(w.recordSize) }

// phaseResult is one path's produce and consume measurement in one round.
type phaseResult struct {
	produce, consume time.Duration
	// produceCPU and consumeCPU are the path's proxy's CPU time during each
	// phase; zero on the direct path.
	produceCPU, consumeCPU time.Duration
}

// runner runs the rounds of the benchmark.
type runner struct {
	env          *env
	w            *workload
	phaseTimeout time.Duration
}

// warmUp runs every path once, unmeasured, on mib MiB, so the first
// measured phase does not pay for the broker JVM's JIT compilation or the
// first growth of heaps and buffers.
func (r *runner) warmUp(ctx context.Context, mib int) error {
	w := r.w.withVolume(mib)
	for _, p := range r.env.paths() {
		if _, err := r.runPath(ctx, w, warmUpName, p); err != nil {
			return err
		}
	}
	return nil
}

// runRounds runs rounds rounds of every path. The paths take turns and
// their order rotates every round (direct, proxy, proxy+auth; proxy,
// proxy+auth, direct; ...; with two paths: direct, proxy; proxy, direct;
// ...), so a drift in machine speed over the run does not favour any path.
func (r *runner) runRounds(ctx context.Context, rounds int) ([]roundResult, error) {
	var results []roundResult
	for round := 1; round <= rounds; round++ {
		name := roundName(round)
		var rr roundResult
		for _, p := range roundOrder(r.env.paths(), round) {
			res, err := r.runPath(ctx, r.w, name, p)
			if err != nil {
				return nil, err
			}
			rr.set(p, res)
		}
		results = append(results, rr)
	}
	return results, nil
}

// roundOrder is the order of paths in round (from 1): paths rotated left
// by round-1, so that over len(paths) rounds each path runs once in each
// position.
func roundOrder(paths []path, round int) []path {
	k := (round - 1) % len(paths)
	return append(slices.Clone(paths[k:]), paths[:k]...)
}

// runPath creates a fresh topic, produces w to it and consumes it back
// through path p, then deletes the topic. On the proxied path it also
// samples the proxy's CPU time around each phase. name labels the run.
func (r *runner) runPath(ctx context.Context, w *workload, name string, p path) (phaseResult, error) {
	var res phaseResult
	topic := topicName(name, p)
	if err := r.env.createTopic(ctx, topic, w.partitions); err != nil {
		return res, err
	}
	var err error
	res.produce, res.produceCPU, err = r.measure(ctx, p, func(ctx context.Context, client []kgo.Opt) error {
		return produce(ctx, client, topic, w)
	})
	if err != nil {
		return res, fmt.Errorf("%s, %s produce: %w", name, p, err)
	}
	log.Printf("%-8s %-10s produce: %7.1f MB/s", name, p, mbPerSec(w.bytes(), res.produce))
	res.consume, res.consumeCPU, err = r.measure(ctx, p, func(ctx context.Context, client []kgo.Opt) error {
		return consume(ctx, client, topic, w)
	})
	if err != nil {
		return res, fmt.Errorf("%s, %s consume: %w", name, p, err)
	}
	log.Printf("%-8s %-10s consume: %7.1f MB/s", name, p, mbPerSec(w.bytes(), res.consume))
	return res, r.env.deleteTopic(ctx, topic)
}

// measure runs phase on path p with the phase timeout and returns its wall
// time and, on a proxied path, its proxy's CPU time during it. phase gets
// the client options that reach p (and log in, on the proxy+auth path); it
// fails when its client connected anywhere else.
func (r *runner) measure(ctx context.Context, p path, phase func(context.Context, []kgo.Opt) error) (wall, cpu time.Duration, err error) {
	ctx, cancel := context.WithTimeoutCause(ctx, r.phaseTimeout, fmt.Errorf("phase did not finish within %v", r.phaseTimeout))
	defer cancel()
	check := newConnCheck(r.env.addrs(p))
	client := append([]kgo.Opt{kgo.SeedBrokers(r.env.seeds(p)...), kgo.WithHooks(check)}, r.env.clientOpts(p)...)
	px := r.env.proxyOf(p)
	var cpuBefore time.Duration
	if px != nil {
		if cpuBefore, err = px.cpuTime(); err != nil {
			return 0, 0, err
		}
	}
	begin := time.Now()
	if err := phase(ctx, client); err != nil {
		return 0, 0, errors.Join(err, check.err())
	}
	wall = time.Since(begin)
	if px != nil {
		cpuAfter, err := px.cpuTime()
		if err != nil {
			return 0, 0, err
		}
		cpu = cpuAfter - cpuBefore
	}
	return wall, cpu, check.err()
}

// produce writes the workload to topic and waits until every record is
// acknowledged.
func produce(ctx context.Context, client []kgo.Opt, topic string, w *workload) error {
	cl, err := kgo.NewClient(append(client,
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerBatchMaxBytes(batchMaxBytes),
		kgo.ProducerLinger(producerLinger),
		kgo.MaxBufferedBytes(maxBufferedBytes),
		// Fail a stuck record with its own error before the phase timeout.
		kgo.RecordDeliveryTimeout(time.Minute),
	)...)
	if err != nil {
		return fmt.Errorf("new producer: %w", err)
	}
	defer cl.Close()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fail := func(_ *kgo.Record, err error) {
		if err != nil {
			cancel(fmt.Errorf("record not acknowledged: %w", err))
		}
	}
	for i := 0; i < w.records && ctx.Err() == nil; i++ {
		cl.Produce(ctx, &kgo.Record{Value: w.pool[i%len(w.pool)]}, fail)
	}
	if err := cl.Flush(ctx); err != nil {
		return causeOr(ctx, fmt.Errorf("flush: %w", err))
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// consume reads topic from the start with a group-less consumer until it
// has seen every produced record, and checks count and bytes.
func consume(ctx context.Context, client []kgo.Opt, topic string, w *workload) error {
	cl, err := kgo.NewClient(append(client,
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return fmt.Errorf("new consumer: %w", err)
	}
	defer cl.Close()

	var (
		records int
		bytes   int64
	)
	for records < w.records {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("after %d of %d records: %w", records, w.records, context.Cause(ctx))
		}
		var errs []error
		fetches.EachError(func(t string, p int32, err error) {
			errs = append(errs, fmt.Errorf("fetch %s[%d]: %w", t, p, err))
		})
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			records++
			bytes += int64(len(r.Value))
		})
	}
	if records != w.records || bytes != w.bytes() {
		return fmt.Errorf("consumed %d records of %d bytes, want %d records of %d bytes", records, bytes, w.records, w.bytes())
	}
	return nil
}

// causeOr returns the cause of ctx's end when it has ended, else err.
func causeOr(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	return err
}
