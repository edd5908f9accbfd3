package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/harness"
)

// topicReadyTimeout bounds the wait for a new topic's partition leaders.
const topicReadyTimeout = 30 * time.Second

// path is the way the clients reach the broker.
type path string

const (
	pathDirect path = "direct"
	pathProxy  path = "proxy"
)

// env is the running system under test: one broker, the proxy in front of
// it, and an admin client that talks to the broker directly.
type env struct {
	dataDir      string // the broker's log.dirs when the bench chose it
	cluster      *harness.Cluster
	proxy        *proxyProcess
	adminClient  *kgo.Client
	admin        *kadm.Client
	kafkaVersion string
}

// startEnv starts the cluster and the proxy. On error, whatever was started
// is stopped again.
func startEnv(ctx context.Context, o options) (_ *env, err error) {
	e := &env{}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.stop())
		}
	}()
	cfg, err := e.brokerConfig(o.tmpfs)
	if err != nil {
		return nil, err
	}
	log.Printf("starting a 1-node kafka cluster")
	begin := time.Now()
	if e.cluster, err = harness.Start(ctx, harness.Options{Brokers: 1, Config: cfg}); err != nil {
		return nil, fmt.Errorf("start kafka: %w", err)
	}
	e.kafkaVersion = brokerVersion(e.cluster)
	log.Printf("kafka %s ready at %v in %v (data in %s)", e.kafkaVersion, e.cluster.Bootstrap,
		time.Since(begin).Round(time.Millisecond), cmp.Or(e.dataDir, e.cluster.Dir))

	if e.adminClient, err = kgo.NewClient(kgo.SeedBrokers(e.cluster.Bootstrap...)); err != nil {
		return nil, fmt.Errorf("admin client: %w", err)
	}
	e.admin = kadm.NewClient(e.adminClient)

	if e.proxy, err = startProxy(ctx, o.proxyBin, o.proxyLogLevel, e.cluster); err != nil {
		return nil, err
	}
	log.Printf("proxy ready at %s (pid %d)", e.proxy.bootstrap, e.proxy.pid())
	return e, nil
}

// shmDir is a tmpfs on most Linux systems.
const shmDir = "/dev/shm"

// brokerConfig returns the broker settings the bench adds to the harness
// defaults. Deleted topics are removed after a second, not a minute, so
// their files do not pile up over the rounds. With tmpfs, the log segments
// go to a new directory in /dev/shm (when it exists), so that the kernel
// writing earlier rounds back to disk does not slow down later phases.
func (e *env) brokerConfig(tmpfs bool) (map[string]string, error) {
	cfg := map[string]string{"file.delete.delay.ms": "1000"}
	if !tmpfs {
		return cfg, nil
	}
	if fi, err := os.Stat(shmDir); err != nil || !fi.IsDir() {
		log.Printf("no %s: the broker keeps its data on disk", shmDir)
		return cfg, nil
	}
	dir, err := os.MkdirTemp(shmDir, "kafka-bench-*")
	if err != nil {
		return nil, fmt.Errorf("broker data dir: %w", err)
	}
	e.dataDir = dir
	cfg["log.dirs"] = dir
	return cfg, nil
}

// dataPlace describes where the broker keeps its log segments.
func (e *env) dataPlace() string {
	if e.dataDir != "" {
		return "memory (tmpfs " + e.dataDir + ")"
	}
	return "disk (" + e.cluster.Dir + ")"
}

// seeds returns the bootstrap addresses of p.
func (e *env) seeds(p path) []string {
	if p == pathProxy {
		return []string{e.proxy.bootstrap}
	}
	return e.cluster.Bootstrap
}

// addrs returns every address a client of p may connect to: the broker's
// on the direct path, the proxy's bootstrap and broker ports on the proxied
// one.
func (e *env) addrs(p path) []string {
	if p == pathProxy {
		return []string{e.proxy.bootstrap, e.proxy.brokerAddr}
	}
	return e.cluster.Bootstrap
}

// stop stops the proxy and then the cluster; it is safe on a partly started
// env.
func (e *env) stop() error {
	var errs []error
	if e.proxy != nil {
		errs = append(errs, e.proxy.stop())
	}
	if e.adminClient != nil {
		e.adminClient.Close()
	}
	if e.cluster != nil {
		if err := e.cluster.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop kafka: %w", err))
		}
	}
	if e.dataDir != "" {
		if err := os.RemoveAll(e.dataDir); err != nil {
			errs = append(errs, fmt.Errorf("remove broker data: %w", err))
		}
	}
	return errors.Join(errs...)
}

// createTopic creates topic with one replica, directly on the broker, and
// waits until every partition has a leader, so that a measured phase does
// not start with the client backing off from LEADER_NOT_AVAILABLE.
func (e *env) createTopic(ctx context.Context, topic string, partitions int) error {
	resp, err := e.admin.CreateTopic(ctx, int32(partitions), 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	ctx, cancel := context.WithTimeout(ctx, topicReadyTimeout)
	defer cancel()
	for {
		err := e.topicReady(ctx, topic, partitions)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s not ready: %w (last: %w)", topic, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// topicReady checks that the broker's metadata lists every partition of
// topic with a leader.
func (e *env) topicReady(ctx context.Context, topic string, partitions int) error {
	topics, err := e.admin.ListTopics(ctx, topic)
	if err != nil {
		return err
	}
	d, ok := topics[topic]
	switch {
	case !ok:
		return errors.New("not in metadata")
	case d.Err != nil:
		return d.Err
	case len(d.Partitions) != partitions:
		return fmt.Errorf("%d of %d partitions in metadata", len(d.Partitions), partitions)
	}
	for _, p := range d.Partitions {
		if p.Err != nil || p.Leader < 0 {
			return fmt.Errorf("partition %d has no leader (%v)", p.Partition, p.Err)
		}
	}
	return nil
}

// deleteTopic removes a topic after use, so the broker's disk does not
// fill over the rounds.
func (e *env) deleteTopic(ctx context.Context, topic string) error {
	resp, err := e.admin.DeleteTopic(ctx, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("delete topic %s: %w", topic, err)
	}
	return nil
}

// versionRE matches the line Kafka's AppInfoParser logs at startup.
var versionRE = regexp.MustCompile(`Kafka version: (\S+)`)

// brokerVersion reads the Kafka version from the first broker's log, which
// the harness keeps as broker-<id>.log in the cluster directory.
func brokerVersion(c *harness.Cluster) string {
	if len(c.NodeIDs) == 0 {
		return "unknown"
	}
	data, err := os.ReadFile(filepath.Join(c.Dir, fmt.Sprintf("broker-%d.log", c.NodeIDs[0])))
	if err != nil {
		return "unknown"
	}
	if m := versionRE.FindSubmatch(data); m != nil {
		return string(m[1])
	}
	return "unknown"
}
