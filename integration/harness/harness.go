// Package harness starts real Apache Kafka clusters for integration tests,
// without Docker.
//
// The broker jars (Apache Kafka 4.4.0 and an SLF4J binding) are resolved by
// Maven from integration/kafkadist/pom.xml into the local Maven repository
// (~/.m2), and each node runs as a plain `java kafka.Kafka` process in KRaft
// combined mode (broker and controller in one JVM) with a static controller
// quorum. All listeners bind to 127.0.0.1 on free ports. Node ids start at 1.
//
// Every node always has a PLAINTEXT listener (also used between brokers) and
// a CONTROLLER listener. Options can add a SASL_PLAINTEXT listener (PLAIN,
// SCRAM-SHA-256 and SCRAM-SHA-512, one user valid for all three) and an SSL
// listener that requires a client certificate (mTLS), with a throwaway CA.
// The SASL listener can have further users (Options.Users), and
// Options.Authorizer turns on Kafka's ACL authorizer with the harness's own
// principals as super users, for comparing the proxy's authorization with
// the broker's.
//
// Brokers are configured for tests: topics are auto-created with 3
// partitions, every topic (internal ones included) is replicated to every
// node with min.insync.replicas=1 (so a 3-node cluster keeps serving with a
// node stopped), the group initial rebalance delay is 0, and each JVM is
// small (512 MiB heap, serial GC, C1 only). Options.Config overrides any of it.
//
// Typical use in a test:
//
//	c := harness.StartT(t, harness.Options{Brokers: 3, SASL: true})
//	cl, _ := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap...))
//
// Teardown: each JVM runs in its own process group, which Stop signals
// (SIGTERM, then SIGKILL); StartT registers Stop with t.Cleanup, which also
// runs when the test fails or panics. If the test process itself dies (go
// test's timeout, SIGKILL), the JVMs get SIGKILL from the kernel
// (Pdeathsig) and the next Start removes the left-over work dir. Set
// KAFKA_HARNESS_KEEP_DIR=1 to keep work dirs (and the broker logs in them).
//
// Note for tests: kadm.Client.BrokerMetadata answers the broker list from
// the kgo client's cache, so it can miss a broker that restarted; send a
// kmsg.MetadataRequest to see what the cluster says now.
//
// JavaRoundTrip runs the Java client in integration/java against any
// bootstrap address (a broker or the proxy); RunJavaClient runs its other
// main classes.
package harness

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	// readyTimeout bounds how long Start waits for a cluster to serve.
	readyTimeout = 90 * time.Second
	// brokerStopGrace is how long StopBroker gives a broker between SIGTERM
	// and SIGKILL: enough for a controlled shutdown.
	brokerStopGrace = 5 * time.Second
	// clusterStopGrace is the same for Stop. When every node stops at once
	// the last controller cannot finish a graceful Raft shutdown and would
	// wait for the SIGKILL anyway, and the data is deleted, so keep it short.
	clusterStopGrace = 2 * time.Second
	// logTailLines is how many lines of each broker log go into errors.
	logTailLines = 50
	// probeTopic is created and deleted once to prove the cluster works.
	probeTopic = "__harness_probe"
	// workDirPrefix starts the name of every work dir in os.TempDir().
	workDirPrefix = "kafka-harness-"
	// saslUser is Cluster.SASLUser.
	saslUser = "harness"
	// ownerFileName, in a work dir, holds the pid of the process that
	// created it, so later runs can remove dirs whose owner was killed.
	ownerFileName = "owner.pid"
)

// brokerJVMOptions keeps each broker small: a 2-core machine runs three of
// them next to the proxy and the clients under test.
var brokerJVMOptions = []string{
	"-Xms256m", "-Xmx512m",
	"-XX:+UseSerialGC",
	"-XX:TieredStopAtLevel=1",
	"-XX:-UsePerfData",
	"-Djava.awt.headless=true",
	"-Dorg.slf4j.simpleLogger.showDateTime=true",
	"-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
}

// Options describes a cluster to start.
type Options struct {
	// Brokers is the number of nodes, each a combined KRaft broker and
	// controller: 1 or 3. Zero means 1. Node ids are 1..Brokers.
	Brokers int
	// SASL adds a SASL_PLAINTEXT listener with mechanisms PLAIN,
	// SCRAM-SHA-256 and SCRAM-SHA-512; Cluster.SASLUser and
	// Cluster.SASLPassword are valid for all three.
	SASL bool
	// TLS adds an SSL listener with a generated CA and server certificate
	// (for 127.0.0.1 and localhost) that requires a client certificate
	// signed by the same CA (Cluster.ClientCertFile, Cluster.ClientKeyFile).
	TLS bool
	// Config holds extra server.properties entries, applied to every node
	// after (and so overriding) the harness defaults. Start's readiness
	// checks connect to the PLAINTEXT listener as User:ANONYMOUS, which
	// is also the inter-broker and controller principal, so a config that
	// enables an authorizer must make User:ANONYMOUS a super user.
	Config map[string]string
	// Users are further SASL users, name to password, that log in like
	// SASLUser with every mechanism of the SASL listener (PLAIN,
	// SCRAM-SHA-256, SCRAM-SHA-512). They need SASL. Names are letters,
	// digits, '-', '_' and '.'; passwords are printable ASCII without
	// spaces, quotes, backslashes, ',' or ']'.
	Users map[string]string
	// Authorizer enables Kafka's ACL authorizer (KRaft's
	// org.apache.kafka.metadata.authorizer.StandardAuthorizer: ACLs live
	// in the cluster metadata, and a request that no ACL allows is
	// denied). User:ANONYMOUS (the PLAINTEXT listener, inter-broker and
	// controller principal, which Start's readiness checks use) and, with
	// SASL, User:<SASLUser> are super users: an admin client logged in as
	// SASLUser may do anything, create ACLs for the Users among others.
	// Config can still override authorizer.class.name and super.users.
	Authorizer bool
	// JVMOptions are extra arguments for every broker JVM (StartBroker
	// included), after the harness defaults, e.g. a system property such as
	// -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=URL that Kafka 4's
	// OAUTHBEARER validation needs to fetch a JWKS.
	JVMOptions []string
}

// Cluster is a running Kafka cluster started by Start.
type Cluster struct {
	// Bootstrap lists the PLAINTEXT host:port of every broker, by node id.
	Bootstrap []string
	// SASLBootstrap lists the SASL_PLAINTEXT host:port of every broker,
	// when Options.SASL is set.
	SASLBootstrap []string
	// TLSBootstrap lists the SSL (mTLS) host:port of every broker, when
	// Options.TLS is set.
	TLSBootstrap []string
	// SASLUser and SASLPassword log in with PLAIN, SCRAM-SHA-256 and
	// SCRAM-SHA-512 on the SASL listener.
	SASLUser, SASLPassword string
	// CAFile is the PEM CA certificate that signed the server and client
	// certificates; ClientCertFile and ClientKeyFile are the PEM client
	// certificate and PKCS#8 key accepted by the SSL listener. Set when
	// Options.TLS is set.
	CAFile, ClientCertFile, ClientKeyFile string
	// NodeIDs lists the node ids, in the order of Bootstrap.
	NodeIDs []int32
	// ClusterID is the KRaft cluster id.
	ClusterID string
	// Dir is the work directory: one sub-directory of data and one log file
	// (broker-<id>.log) per node. Stop removes it.
	Dir string

	classpath  string
	jvmOptions []string // Options.JVMOptions
	nodes      []*node

	mu      sync.Mutex
	stopped bool
}

// node is one broker+controller JVM.
type node struct {
	id         int32
	configPath string
	logPath    string

	mu   sync.Mutex
	proc *process // nil when not running
}

// process is a started JVM and the channel closed when it has exited.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // exit status, valid after done is closed
}

// Start formats and starts a cluster and waits until it serves: Metadata
// lists every broker and a controller, and a probe topic replicated to every
// broker can be created and deleted. On failure everything started is
// stopped and removed. ctx bounds the whole start; Start itself gives up
// after 90 seconds of waiting for readiness.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	n := opts.Brokers
	if n == 0 {
		n = 1
	}
	if n != 1 && n != 3 {
		return nil, fmt.Errorf("harness: Brokers must be 1 or 3, got %d", n)
	}
	if err := checkUsers(opts); err != nil {
		return nil, err
	}
	cp, err := kafkaClasspath(ctx)
	if err != nil {
		return nil, err
	}
	removeStaleDirs()
	dir, err := os.MkdirTemp("", workDirPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("harness: create work dir: %w", err)
	}
	ownerFile := filepath.Join(dir, ownerFileName)
	if err := os.WriteFile(ownerFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("harness: write %s: %w", ownerFile, err)
	}
	c := &Cluster{Dir: dir, classpath: cp, jvmOptions: slices.Clone(opts.JVMOptions)}
	if err := c.start(ctx, n, opts); err != nil {
		if stopErr := c.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return nil, err
	}
	return c, nil
}

// StartT starts a cluster for a test and stops it in t.Cleanup. It fails the
// test (never skips) when the cluster cannot start. When the test has failed,
// the tail of each broker log is logged before the cluster is removed.
func StartT(t testing.TB, opts Options) *Cluster {
	t.Helper()
	begin := time.Now()
	c, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start kafka cluster: %v", err)
	}
	t.Logf("kafka cluster of %d node(s) ready in %v (dir %s)", len(c.nodes), time.Since(begin).Round(time.Millisecond), c.Dir)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kafka logs:\n%s", c.logTails())
		}
		if err := c.Stop(); err != nil {
			t.Errorf("stop kafka cluster: %v", err)
		}
	})
	return c
}

func (c *Cluster) start(ctx context.Context, n int, opts Options) error {
	perNode := 2 // PLAINTEXT, CONTROLLER
	if opts.SASL {
		perNode++
	}
	if opts.TLS {
		perNode++
	}
	ports, err := FreePorts(n * perNode)
	if err != nil {
		return err
	}
	type nodePorts struct{ plain, controller, sasl, tls int }
	np := make([]nodePorts, n)
	for i := range np {
		p := ports[i*perNode : (i+1)*perNode]
		np[i] = nodePorts{plain: p[0], controller: p[1]}
		k := 2
		if opts.SASL {
			np[i].sasl = p[k]
			k++
		}
		if opts.TLS {
			np[i].tls = p[k]
		}
	}

	c.ClusterID, err = newClusterID()
	if err != nil {
		return err
	}
	var voters []string
	for i := range n {
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i+1, np[i].controller))
	}

	var tlsProps map[string]string
	if opts.TLS {
		pki, err := writePKI(c.Dir)
		if err != nil {
			return err
		}
		c.CAFile, c.ClientCertFile, c.ClientKeyFile = pki.caFile, pki.clientCertFile, pki.clientKeyFile
		tlsProps = map[string]string{
			"listener.name.ssl.ssl.keystore.type":              "PEM",
			"listener.name.ssl.ssl.keystore.certificate.chain": pki.serverCertPEM,
			"listener.name.ssl.ssl.keystore.key":               pki.serverKeyPEM,
			"listener.name.ssl.ssl.truststore.type":            "PEM",
			"listener.name.ssl.ssl.truststore.certificates":    pki.caPEM,
			"listener.name.ssl.ssl.client.auth":                "required",
		}
	}
	if opts.SASL {
		c.SASLUser = saslUser
		c.SASLPassword, err = randomToken(18)
		if err != nil {
			return err
		}
	}

	for i := range n {
		id := int32(i + 1)
		p := np[i]
		listeners := []string{
			fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", p.plain),
			fmt.Sprintf("CONTROLLER://127.0.0.1:%d", p.controller),
		}
		advertised := []string{fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", p.plain)}
		c.Bootstrap = append(c.Bootstrap, fmt.Sprintf("127.0.0.1:%d", p.plain))
		if opts.SASL {
			l := fmt.Sprintf("SASL_PLAINTEXT://127.0.0.1:%d", p.sasl)
			listeners = append(listeners, l)
			advertised = append(advertised, l)
			c.SASLBootstrap = append(c.SASLBootstrap, fmt.Sprintf("127.0.0.1:%d", p.sasl))
		}
		if opts.TLS {
			l := fmt.Sprintf("SSL://127.0.0.1:%d", p.tls)
			listeners = append(listeners, l)
			advertised = append(advertised, l)
			c.TLSBootstrap = append(c.TLSBootstrap, fmt.Sprintf("127.0.0.1:%d", p.tls))
		}
		c.NodeIDs = append(c.NodeIDs, id)

		dataDir := filepath.Join(c.Dir, fmt.Sprintf("node-%d", id))
		props := baseProps(n)
		props["node.id"] = strconv.Itoa(int(id))
		props["controller.quorum.voters"] = strings.Join(voters, ",")
		props["listeners"] = strings.Join(listeners, ",")
		props["advertised.listeners"] = strings.Join(advertised, ",")
		props["log.dirs"] = dataDir
		if opts.SASL {
			maps.Copy(props, saslProps(c.users(opts)))
		}
		if opts.Authorizer {
			maps.Copy(props, authorizerProps(opts.SASL, c.SASLUser))
		}
		maps.Copy(props, tlsProps)
		maps.Copy(props, opts.Config)
		nd := &node{
			id:         id,
			configPath: filepath.Join(c.Dir, fmt.Sprintf("server-%d.properties", id)),
			logPath:    filepath.Join(c.Dir, fmt.Sprintf("broker-%d.log", id)),
		}
		if err := writeProperties(nd.configPath, props); err != nil {
			return err
		}
		c.nodes = append(c.nodes, nd)
	}

	var scramUsers map[string]string
	if opts.SASL {
		scramUsers = c.users(opts)
	}
	if err := c.format(ctx, scramUsers); err != nil {
		return err
	}
	for _, nd := range c.nodes {
		if err := c.startNode(nd); err != nil {
			return err
		}
	}
	return c.waitReady(ctx, opts)
}

// baseProps returns the server.properties shared by every node of an
// n-node cluster: internal topics replicated to every node, min ISR 1 so a
// stopped broker does not block writes, and small thread pools.
func baseProps(n int) map[string]string {
	rf := strconv.Itoa(n)
	return map[string]string{
		"process.roles":                                    "broker,controller",
		"controller.listener.names":                        "CONTROLLER",
		"inter.broker.listener.name":                       "PLAINTEXT",
		"listener.security.protocol.map":                   "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL",
		"auto.create.topics.enable":                        "true",
		"num.partitions":                                   "3",
		"default.replication.factor":                       rf,
		"min.insync.replicas":                              "1",
		"offsets.topic.replication.factor":                 rf,
		"offsets.topic.num.partitions":                     "10",
		"transaction.state.log.replication.factor":         rf,
		"transaction.state.log.min.isr":                    "1",
		"transaction.state.log.num.partitions":             "10",
		"share.coordinator.state.topic.replication.factor": rf,
		"share.coordinator.state.topic.min.isr":            "1",
		"group.initial.rebalance.delay.ms":                 "0",
		"broker.heartbeat.interval.ms":                     "500",
		"broker.session.timeout.ms":                        "6000",
		"num.network.threads":                              "2",
		"num.io.threads":                                   "2",
		"background.threads":                               "2",
		"num.replica.fetchers":                             "1",
		"num.recovery.threads.per.data.dir":                "1",
		"log.cleaner.threads":                              "1",
		"log.cleaner.dedupe.buffer.size":                   "8388608",
	}
}

// saslProps configures the SASL_PLAINTEXT listener for PLAIN and both SCRAM
// mechanisms, with users (name to password) for PLAIN. SCRAM credentials are
// added when storage is formatted.
func saslProps(users map[string]string) map[string]string {
	plainUsers := []string{"org.apache.kafka.common.security.plain.PlainLoginModule required"}
	for _, name := range slices.Sorted(maps.Keys(users)) {
		plainUsers = append(plainUsers, fmt.Sprintf(`user_%s="%s"`, name, users[name]))
	}
	return map[string]string{
		"sasl.enabled.mechanisms":                                     "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"listener.name.sasl_plaintext.sasl.enabled.mechanisms":        "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config":         strings.Join(plainUsers, " ") + ";",
		"listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
	}
}

// users returns every SASL user of the cluster: SASLUser and Options.Users.
func (c *Cluster) users(opts Options) map[string]string {
	all := map[string]string{c.SASLUser: c.SASLPassword}
	maps.Copy(all, opts.Users)
	return all
}

// checkUsers rejects Options.Users that the JAAS line or StorageTool's
// --add-scram argument could not carry, or that need a listener Options
// does not ask for.
func checkUsers(opts Options) error {
	if len(opts.Users) > 0 && !opts.SASL {
		return errors.New("harness: Options.Users needs Options.SASL")
	}
	for name, pw := range opts.Users {
		if name == "" || name == saslUser || strings.ContainsFunc(name, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
		}) {
			return fmt.Errorf("harness: user name %q: want letters, digits, '-', '_' or '.', and not %q", name, saslUser)
		}
		if pw == "" || strings.ContainsFunc(pw, func(r rune) bool { return r <= ' ' || r > '~' || r == '"' || r == '\\' || r == ',' || r == ']' }) {
			return fmt.Errorf("harness: password of user %q: want printable ASCII without spaces, quotes, backslashes, ',' or ']'", name)
		}
	}
	return nil
}

// authorizerProps enables StandardAuthorizer with the principals the
// harness itself uses as super users.
func authorizerProps(sasl bool, saslUser string) map[string]string {
	super := "User:ANONYMOUS"
	if sasl {
		super += ";User:" + saslUser
	}
	return map[string]string{
		"authorizer.class.name":          "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":                    super,
		"allow.everyone.if.no.acl.found": "false",
	}
}

// format runs StorageTool format for every node, in parallel, adding SCRAM
// credentials for scramUsers (name to password).
func (c *Cluster) format(ctx context.Context, scramUsers map[string]string) error {
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, nd := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{}, brokerJVMOptions...)
			args = append(args, "-cp", c.classpath, "kafka.tools.StorageTool", "format",
				"-t", c.ClusterID, "-c", nd.configPath)
			for _, name := range slices.Sorted(maps.Keys(scramUsers)) {
				for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
					args = append(args, "--add-scram",
						fmt.Sprintf("%s=[name=%s,password=%s]", mech, name, scramUsers[name]))
				}
			}
			cmd := exec.CommandContext(ctx, "java", args...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
			out, err := cmd.CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("harness: format storage of node %d: %w\n%s", nd.id, err, out)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startNode starts the JVM of nd, appending its output to nd.logPath.
func (c *Cluster) startNode(nd *node) error {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.proc != nil {
		return fmt.Errorf("harness: node %d is already running", nd.id)
	}
	logFile, err := os.OpenFile(nd.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("harness: open log of node %d: %w", nd.id, err)
	}
	args := append([]string{}, brokerJVMOptions...)
	args = append(args, c.jvmOptions...)
	args = append(args, "-cp", c.classpath, "kafka.Kafka", nd.configPath)
	cmd := exec.Command("java", args...)
	cmd.Dir = c.Dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Own process group, so Stop can signal the JVM and anything it forks;
	// SIGKILL when the test process dies, so no JVM outlives it. (Pdeathsig
	// follows the OS thread that forked; the Go runtime only ends threads
	// of goroutines that exit while locked with runtime.LockOSThread.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("harness: start node %d: %w", nd.id, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	nd.proc = p
	return nil
}

// stopNode terminates the process group of nd: SIGTERM, then SIGKILL after
// grace. It is a no-op when nd is not running.
func stopNode(nd *node, grace time.Duration) error {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	p := nd.proc
	if p == nil {
		return nil
	}
	nd.proc = nil
	pgid := p.cmd.Process.Pid
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("harness: SIGTERM node %d: %w", nd.id, err)
	}
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	// Kill the whole group even after a clean exit of the JVM, in case it
	// left children behind.
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("harness: SIGKILL node %d: %w", nd.id, err)
	}
	<-p.done
	return nil
}

// versionRE matches the line Kafka's AppInfoParser logs at startup.
var versionRE = regexp.MustCompile(`Kafka version: (\S+)`)

// KafkaVersion is the Kafka version the first node logged at startup, or
// "unknown".
func (c *Cluster) KafkaVersion() string {
	if len(c.nodes) == 0 {
		return "unknown"
	}
	data, err := os.ReadFile(c.nodes[0].logPath)
	if err != nil {
		return "unknown"
	}
	if m := versionRE.FindSubmatch(data); m != nil {
		return string(m[1])
	}
	return "unknown"
}

// keepDirEnv names an environment variable that, when set to a non-empty
// value, makes Stop keep Dir (for reading the broker logs after a run).
const keepDirEnv = "KAFKA_HARNESS_KEEP_DIR"

// Stop kills every broker process (SIGTERM, then SIGKILL after two seconds)
// and removes Dir, unless the environment variable KAFKA_HARNESS_KEEP_DIR is
// set. It is idempotent and safe to call on a partly started cluster.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, nd := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = stopNode(nd, clusterStopGrace)
		}()
	}
	wg.Wait()
	if os.Getenv(keepDirEnv) != "" {
		return errors.Join(errs...)
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		errs = append(errs, fmt.Errorf("harness: remove work dir: %w", err))
	}
	return errors.Join(errs...)
}

// StopBroker stops one node (SIGTERM, then SIGKILL after a few seconds), for
// failure tests. Its data stays, so StartBroker can bring it back. Stopping
// a node that is not running is a no-op.
func (c *Cluster) StopBroker(id int32) error {
	nd, err := c.node(id)
	if err != nil {
		return err
	}
	return stopNode(nd, brokerStopGrace)
}

// StartBroker restarts a node stopped by StopBroker with the same config,
// ports and data, and waits (at most 90 seconds) until Metadata lists it
// again.
func (c *Cluster) StartBroker(ctx context.Context, id int32) error {
	nd, err := c.node(id)
	if err != nil {
		return err
	}
	if err := c.startNode(nd); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	return c.waitBrokers(ctx)
}

func (c *Cluster) node(id int32) (*node, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, errors.New("harness: cluster is stopped")
	}
	for _, nd := range c.nodes {
		if nd.id == id {
			return nd, nil
		}
	}
	return nil, fmt.Errorf("harness: no node with id %d (have %v)", id, c.NodeIDs)
}

// ClientTLSConfig returns a TLS config for the SSL listener: it trusts the
// harness CA and presents the client certificate. It is an error when the
// cluster was started without Options.TLS.
func (c *Cluster) ClientTLSConfig() (*tls.Config, error) {
	if c.CAFile == "" {
		return nil, errors.New("harness: cluster has no TLS listener")
	}
	caPEM, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("harness: read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("harness: no certificate in %s", c.CAFile)
	}
	cert, err := tls.LoadX509KeyPair(c.ClientCertFile, c.ClientKeyFile)
	if err != nil {
		return nil, fmt.Errorf("harness: load client certificate: %w", err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// waitReady waits until the cluster serves on every listener.
func (c *Cluster) waitReady(ctx context.Context, opts Options) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := c.waitBrokers(ctx); err != nil {
		return err
	}
	// The extra listeners open with the PLAINTEXT one; check they accept.
	var extra []string
	if opts.SASL {
		extra = append(extra, c.SASLBootstrap...)
	}
	if opts.TLS {
		extra = append(extra, c.TLSBootstrap...)
	}
	for _, addr := range extra {
		if err := c.poll(ctx, "listener "+addr, func(ctx context.Context) error {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			return conn.Close()
		}); err != nil {
			return err
		}
	}
	return c.probe(ctx)
}

// waitBrokers polls Metadata on the PLAINTEXT listeners until it lists
// every running node and a controller.
func (c *Cluster) waitBrokers(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap...), kgo.DialTimeout(2*time.Second))
	if err != nil {
		return fmt.Errorf("harness: new client: %w", err)
	}
	defer cl.Close()
	want := c.runningNodes()
	return c.poll(ctx, fmt.Sprintf("metadata listing brokers %v", want), func(ctx context.Context) error {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		// A raw request: kadm.BrokerMetadata answers the broker list from
		// the client's cache, which would not see a restarted broker.
		req := kmsg.NewPtrMetadataRequest()
		req.Topics = []kmsg.MetadataRequestTopic{} // none; nil means all
		md, err := req.RequestWith(rctx, cl)
		if err != nil {
			return err
		}
		if md.ControllerID < 0 {
			return errors.New("no controller yet")
		}
		have := make(map[int32]bool)
		var ids []int32
		for _, b := range md.Brokers {
			have[b.NodeID] = true
			ids = append(ids, b.NodeID)
		}
		for _, id := range want {
			if !have[id] {
				return fmt.Errorf("broker %d not registered yet (have %v)", id, ids)
			}
		}
		return nil
	})
}

// probe creates and deletes a topic replicated to every node.
func (c *Cluster) probe(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap...), kgo.DialTimeout(2*time.Second))
	if err != nil {
		return fmt.Errorf("harness: new client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	rf := int16(len(c.nodes))
	return c.poll(ctx, "probe topic create+delete", func(ctx context.Context) error {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		resp, err := adm.CreateTopic(rctx, 1, rf, nil, probeTopic)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create: %w", err)
		}
		dresp, err := adm.DeleteTopic(rctx, probeTopic)
		if err == nil {
			err = dresp.Err
		}
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		return nil
	})
}

// poll calls check every 200ms until it succeeds, a node process exits, or
// ctx is done; errors carry the last check error and the broker logs.
func (c *Cluster) poll(ctx context.Context, what string, check func(context.Context) error) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = check(ctx); last == nil {
			return nil
		}
		if nd, perr := c.exitedNode(); nd != nil {
			return fmt.Errorf("harness: waiting for %s: node %d exited (%v); logs:\n%s", what, nd.id, perr, c.logTails())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("harness: waiting for %s: %w (last error: %v); logs:\n%s", what, ctx.Err(), last, c.logTails())
		case <-tick.C:
		}
	}
}

// runningNodes returns the ids of nodes whose process was started and not
// stopped.
func (c *Cluster) runningNodes() []int32 {
	var ids []int32
	for _, nd := range c.nodes {
		nd.mu.Lock()
		if nd.proc != nil {
			ids = append(ids, nd.id)
		}
		nd.mu.Unlock()
	}
	return ids
}

// exitedNode returns a node whose process exited without being stopped.
func (c *Cluster) exitedNode() (*node, error) {
	for _, nd := range c.nodes {
		nd.mu.Lock()
		p := nd.proc
		nd.mu.Unlock()
		if p == nil {
			continue
		}
		select {
		case <-p.done:
			return nd, p.err
		default:
		}
	}
	return nil, nil
}

// logTails returns the last lines of every node's log.
func (c *Cluster) logTails() string {
	var b strings.Builder
	for _, nd := range c.nodes {
		fmt.Fprintf(&b, "==> %s (last %d lines) <==\n", nd.logPath, logTailLines)
		data, err := os.ReadFile(nd.logPath)
		if err != nil {
			fmt.Fprintf(&b, "(%v)\n", err)
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > logTailLines {
			lines = lines[len(lines)-logTailLines:]
		}
		b.WriteString(strings.Join(lines, "\n"))
		b.WriteString("\n")
	}
	return b.String()
}

// writeProperties writes props as a Java properties file, escaping values
// (PEM blocks span lines) so that Properties.load reads them back verbatim.
func writeProperties(path string, props map[string]string) error {
	keys := slices.Sorted(maps.Keys(props))
	var b strings.Builder
	b.WriteString("# generated by integration/harness\n")
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(escapeProperty(props[k]))
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("harness: write %s: %w", path, err)
	}
	return nil
}

// escapeProperty escapes a value for java.util.Properties.
func escapeProperty(v string) string {
	var b strings.Builder
	for i, r := range v {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case ' ':
			if i == 0 {
				b.WriteString(`\ `)
			} else {
				b.WriteRune(r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// removeStaleDirs removes, best effort, the work dirs of processes that no
// longer exist: a test binary killed with SIGKILL cannot clean up (its JVMs
// die with it, by Pdeathsig, but the dir stays).
func removeStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), workDirPrefix+"*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFileName))
		if err != nil {
			continue // not ours, or still being created
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(dir)
		}
	}
}

// newClusterID returns a random KRaft cluster id: 16 random bytes in
// unpadded base64url, not starting with '-' (as Kafka's Uuid does).
func newClusterID() (string, error) {
	for {
		id, err := randomToken(16)
		if err != nil {
			return "", err
		}
		if !strings.HasPrefix(id, "-") {
			return id, nil
		}
	}
}

// randomToken returns n random bytes in unpadded base64url.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("harness: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

var (
	portsMu   sync.Mutex
	portsUsed = make(map[int]bool) // handed out by this process
)

// FreePorts returns n distinct free loopback TCP ports, never one already
// handed out by this process (to a cluster or to another caller). All
// listeners are held open until every port is chosen, so they differ from
// each other.
func FreePorts(n int) ([]int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	var (
		ports []int
		lns   []net.Listener
	)
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for len(ports) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("harness: find free port: %w", err)
		}
		lns = append(lns, ln)
		p := ln.Addr().(*net.TCPAddr).Port
		if portsUsed[p] {
			continue
		}
		portsUsed[p] = true
		ports = append(ports, p)
	}
	return ports, nil
}
