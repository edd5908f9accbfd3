package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
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
	// pathProxy is the proxy without authentication (serve --no-auth).
	pathProxy path = "proxy"
	// pathProxyAuth is a second proxy process with authentication and
	// authorization on: clients log in with an API key over SASL/PLAIN and
	// every request is checked against role bindings.
	pathProxyAuth path = "proxy+auth"
)

// slug is p as it may appear in a topic name.
func (p path) slug() string { return strings.ReplaceAll(string(p), "+", "-") }

// Names of the runs of paths: the warm-up and the rounds. Topic names are
// derived from them.
const warmUpName = "warm-up"

func roundName(round int) string { return fmt.Sprintf("round %d", round) }

// topicName is the topic the run name uses on path p.
func topicName(name string, p path) string {
	return "bench-" + strings.ReplaceAll(name, " ", "-") + "-" + p.slug()
}

// runNames are the names of every run the options ask for, in order.
func runNames(o options) []string {
	var names []string
	if o.warmupMiB > 0 {
		names = append(names, warmUpName)
	}
	for round := 1; round <= o.rounds; round++ {
		names = append(names, roundName(round))
	}
	return names
}

// env is the running system under test: one broker, the proxies in front
// of it, and an admin client that talks to the broker directly.
type env struct {
	dataDir      string // the broker's log.dirs when the bench chose it
	cluster      *harness.Cluster
	proxy        *proxyProcess // serve --no-auth
	authProxy    *proxyProcess // with authentication and authorization; nil without -auth
	auth         *authSetup    // the API key and policy of authProxy
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
	e.kafkaVersion = e.cluster.KafkaVersion()
	log.Printf("kafka %s ready at %v in %v (data in %s)", e.kafkaVersion, e.cluster.Bootstrap,
		time.Since(begin).Round(time.Millisecond), cmp.Or(e.dataDir, e.cluster.Dir))

	if e.adminClient, err = kgo.NewClient(kgo.SeedBrokers(e.cluster.Bootstrap...)); err != nil {
		return nil, fmt.Errorf("admin client: %w", err)
	}
	e.admin = kadm.NewClient(e.adminClient)

	if e.proxy, err = startProxy(ctx, string(pathProxy), o.proxyBin, o.proxyLogLevel, e.cluster, nil); err != nil {
		return nil, err
	}
	log.Printf("proxy ready at %s (pid %d)", e.proxy.bootstrap, e.proxy.pid())
	if !o.auth {
		return e, nil
	}

	// The API key is scoped to the upstream cluster's id, which is also
	// the proxy's default authentication.cluster_id.
	md, err := e.admin.BrokerMetadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster id: %w", err)
	}
	var topics []string
	for _, name := range runNames(o) {
		topics = append(topics, topicName(name, pathProxyAuth))
	}
	if e.auth, err = newAuthSetup(md.Cluster, topics); err != nil {
		return nil, err
	}
	if e.authProxy, err = startProxy(ctx, string(pathProxyAuth), o.proxyBin, o.proxyLogLevel, e.cluster, e.auth); err != nil {
		return nil, err
	}
	if err := e.checkLogin(ctx); err != nil {
		return nil, err
	}
	log.Printf("proxy+auth ready at %s (pid %d; cluster %s, API key %s of %s logs in)",
		e.authProxy.bootstrap, e.authProxy.pid(), e.auth.clusterID, e.auth.keyID, benchAccount)
	return e, nil
}

// loginTimeout bounds the login check of the proxy+auth path.
const loginTimeout = 15 * time.Second

// checkLogin logs in to the proxy+auth path once and makes a broker-only
// Metadata request, so that a login the proxy refuses fails the run at
// once with the reason, rather than a phase after the client's retries.
func (e *env) checkLogin(ctx context.Context) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(e.seeds(pathProxyAuth)...)}, e.clientOpts(pathProxyAuth)...)...)
	if err != nil {
		return fmt.Errorf("proxy+auth login check: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("proxy+auth: log in with API key %s of %s (cluster %s) over SASL/PLAIN: %w; proxy+auth log:\n%s",
			e.auth.keyID, benchAccount, e.auth.clusterID, err, e.authProxy.logs)
	}
	return nil
}

// paths are the paths the run measures, in their order in the first round.
func (e *env) paths() []path {
	if e.authProxy != nil {
		return []path{pathDirect, pathProxy, pathProxyAuth}
	}
	return []path{pathDirect, pathProxy}
}

// proxyOf is the proxy process of path p, nil on the direct path.
func (e *env) proxyOf(p path) *proxyProcess {
	switch p {
	case pathProxy:
		return e.proxy
	case pathProxyAuth:
		return e.authProxy
	}
	return nil
}

// proxies are the running proxy processes.
func (e *env) proxies() []*proxyProcess {
	var ps []*proxyProcess
	for _, p := range []*proxyProcess{e.proxy, e.authProxy} {
		if p != nil {
			ps = append(ps, p)
		}
	}
	return ps
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
	if px := e.proxyOf(p); px != nil {
		return []string{px.bootstrap}
	}
	return e.cluster.Bootstrap
}

// addrs returns every address a client of p may connect to: the broker's
// on the direct path, the proxy's bootstrap and broker ports on a proxied
// one.
func (e *env) addrs(p path) []string {
	if px := e.proxyOf(p); px != nil {
		return []string{px.bootstrap, px.brokerAddr}
	}
	return e.cluster.Bootstrap
}

// clientOpts are the options every client of p gets besides its seeds: the
// SASL/PLAIN login on the proxy+auth path.
func (e *env) clientOpts(p path) []kgo.Opt {
	if p == pathProxyAuth {
		return []kgo.Opt{e.auth.clientOpt()}
	}
	return nil
}

// stop stops the proxies and then the cluster; it is safe on a partly
// started env.
func (e *env) stop() error {
	var errs []error
	for _, p := range e.proxies() {
		errs = append(errs, p.stop())
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
