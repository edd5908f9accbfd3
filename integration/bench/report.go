package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// roundResult is one round: the same phases on both paths.
type roundResult struct {
	direct, proxy phaseResult
}

func (r *roundResult) set(p path, res phaseResult) {
	if p == pathProxy {
		r.proxy = res
	} else {
		r.direct = res
	}
}

// reportInput is everything the report shows.
type reportInput struct {
	kafkaVersion string
	dataPlace    string // where the broker keeps its log segments
	opts         options
	w            *workload
	rounds       []roundResult
}

// summary is the medians and CPU cost derived from the rounds.
type summary struct {
	direct, proxy struct{ produce, consume float64 } // median MB/s
	// Median proxy CPU seconds per proxied phase.
	produceCPU, consumeCPU float64
	// CPU seconds per GB forwarded: total and per phase.
	cpuPerGB, produceCPUPerGB, consumeCPUPerGB float64
}

func summarize(in reportInput) summary {
	var s summary
	vol := in.w.bytes()
	mbps := func(pick func(roundResult) time.Duration) float64 {
		var v []float64
		for _, r := range in.rounds {
			v = append(v, mbPerSec(vol, pick(r)))
		}
		return median(v)
	}
	s.direct.produce = mbps(func(r roundResult) time.Duration { return r.direct.produce })
	s.direct.consume = mbps(func(r roundResult) time.Duration { return r.direct.consume })
	s.proxy.produce = mbps(func(r roundResult) time.Duration { return r.proxy.produce })
	s.proxy.consume = mbps(func(r roundResult) time.Duration { return r.proxy.consume })

	var (
		produceCPU, consumeCPU   time.Duration
		produceCPUs, consumeCPUs []float64
	)
	for _, r := range in.rounds {
		produceCPU += r.proxy.produceCPU
		consumeCPU += r.proxy.consumeCPU
		produceCPUs = append(produceCPUs, r.proxy.produceCPU.Seconds())
		consumeCPUs = append(consumeCPUs, r.proxy.consumeCPU.Seconds())
	}
	s.produceCPU, s.consumeCPU = median(produceCPUs), median(consumeCPUs)
	phaseGB := float64(vol) * float64(len(in.rounds)) / (1 << 30)
	s.produceCPUPerGB = produceCPU.Seconds() / phaseGB
	s.consumeCPUPerGB = consumeCPU.Seconds() / phaseGB
	s.cpuPerGB = (produceCPU + consumeCPU).Seconds() / (2 * phaseGB)
	return s
}

// writeReport prints the setup, a table of every round and the medians,
// and the summary lines.
func writeReport(out io.Writer, in reportInput) {
	s := summarize(in)
	o := in.opts
	fmt.Fprintln(out)
	fmt.Fprintln(out, "kafka-auth-proxy forwarding benchmark")
	fmt.Fprintf(out, "kafka:   %s, 1 broker, topics of %d partitions, replication factor 1\n", in.kafkaVersion, in.w.partitions)
	fmt.Fprintf(out, "records: %d B values of random bytes, no compression, acks=all, idempotent, linger %v, batches <= %d KiB\n",
		in.w.recordSize, producerLinger, batchMaxBytes>>10)
	fmt.Fprintf(out, "volume:  %.0f MiB (%d records) produced, then consumed from the start (no group), per path per round\n",
		float64(in.w.bytes())/(1<<20), in.w.records)
	fmt.Fprintf(out, "rounds:  %d, paths alternating (direct, proxy, proxy, direct, ...), a fresh topic each, after a warm-up of %d MiB per path\n",
		len(in.rounds), o.warmupMiB)
	fmt.Fprintf(out, "broker:  data in %s\n", in.dataPlace)
	fmt.Fprintln(out, "units:   MB = 2^20 and GB = 2^30 bytes of record values; proxy CPU = user+system of its process")
	fmt.Fprintln(out)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tpath\tproduce MB/s\tconsume MB/s\tproxy CPU s produce\tproxy CPU s consume\t")
	for i, r := range in.rounds {
		vol := in.w.bytes()
		fmt.Fprintf(tw, "%d\t%s\t%.1f\t%.1f\t-\t-\t\n", i+1, pathDirect,
			mbPerSec(vol, r.direct.produce), mbPerSec(vol, r.direct.consume))
		fmt.Fprintf(tw, "%d\t%s\t%.1f\t%.1f\t%.2f\t%.2f\t\n", i+1, pathProxy,
			mbPerSec(vol, r.proxy.produce), mbPerSec(vol, r.proxy.consume),
			r.proxy.produceCPU.Seconds(), r.proxy.consumeCPU.Seconds())
	}
	fmt.Fprintf(tw, "median\t%s\t%.1f\t%.1f\t-\t-\t\n", pathDirect, s.direct.produce, s.direct.consume)
	fmt.Fprintf(tw, "median\t%s\t%.1f\t%.1f\t%.2f\t%.2f\t\n", pathProxy, s.proxy.produce, s.proxy.consume,
		s.produceCPU, s.consumeCPU)
	tw.Flush()
	fmt.Fprintln(out)

	fmt.Fprintf(out, "median MB/s, direct: produce %.1f, consume %.1f; proxy: produce %.1f, consume %.1f\n",
		s.direct.produce, s.direct.consume, s.proxy.produce, s.proxy.consume)
	fmt.Fprintf(out, "produce throughput ratio (proxy/direct): %.2f\n", s.proxy.produce/s.direct.produce)
	fmt.Fprintf(out, "consume throughput ratio (proxy/direct): %.2f\n", s.proxy.consume/s.direct.consume)
	fmt.Fprintf(out, "proxy CPU seconds per GB forwarded: %.2f\n", s.cpuPerGB)
	fmt.Fprintf(out, "proxy CPU seconds per GB by phase: produce %.2f, consume %.2f\n", s.produceCPUPerGB, s.consumeCPUPerGB)
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
