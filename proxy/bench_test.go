package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
)

// BenchmarkThroughput compares a client talking to an in-process broker
// directly and through the proxy, for produce and for fetch. The broker
// stores nothing (BlackholeProduce) and serves canned batches
// (SyntheticFetch), so the numbers isolate the proxy's own cost. Compare the
// MB/s of the direct and proxy sub-benchmarks of one run.
func BenchmarkThroughput(b *testing.B) {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "bench"), kfake.ClusterID(authTestCluster),
		kfake.BlackholeProduce(), kfake.SyntheticFetch(kfake.SyntheticBatch{RecordBytes: 1024, RandomFrac: 1}))
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	srv := startProxy(b, fake.ListenAddrs(), nil, fake).srv
	// proxy+auth: clients log in with an API key and are authorized by a
	// DeveloperWrite and a DeveloperRead binding.
	key, declared := makeAPIKey(b, "sa-bench")
	authSrv := startProxy(b, fake.ListenAddrs(), func(s *testSetup) {
		s.authn = testAuthn()
		s.authn.Accounts = []string{"sa-bench"}
		s.authn.Keys = []authn.Key{declared}
		s.policy.RoleBindings = []authz.RoleBinding{
			{Principal: "User:sa-bench", Role: "DeveloperWrite", ResourceType: authz.ResourceTopic, Name: "bench", Pattern: authz.PatternLiteral},
			{Principal: "User:sa-bench", Role: "DeveloperRead", ResourceType: authz.ResourceTopic, Name: "bench", Pattern: authz.PatternLiteral},
		}
	}, fake).srv
	login := kgo.SASL(plain.Auth{User: key.id, Pass: key.secret}.AsMechanism())

	value := make([]byte, 1024)
	_, _ = rand.Read(value)
	paths := []struct {
		name, seed string
		opts       []kgo.Opt
	}{
		{"direct", fake.ListenAddrs()[0], nil},
		{"proxy", srv.BootstrapAddr(), nil},
		{"proxy+auth", authSrv.BootstrapAddr(), []kgo.Opt{login}},
	}
	for _, p := range paths {
		b.Run("produce/"+p.name, func(b *testing.B) {
			cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(p.seed), kgo.DefaultProduceTopic("bench"),
				kgo.ProducerLinger(time.Millisecond), kgo.ProducerBatchMaxBytes(1 << 20)}, p.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			ctx := context.Background()
			b.SetBytes(int64(len(value)))
			b.ResetTimer()
			for range b.N {
				cl.Produce(ctx, &kgo.Record{Value: value}, nil)
			}
			if err := cl.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		})
		b.Run("fetch/"+p.name, func(b *testing.B) {
			cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(p.seed), kgo.ConsumeTopics("bench"),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, p.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			ctx := context.Background()
			b.SetBytes(1024)
			b.ResetTimer()
			for n := 0; n < b.N; {
				fs := cl.PollRecords(ctx, b.N-n)
				if errs := fs.Errors(); len(errs) > 0 {
					b.Fatal(errs[0].Err)
				}
				n += fs.NumRecords()
			}
		})
	}
}

// BenchmarkRequestPath is the per-request work of the read side: frame
// read, header parse and body decode of a one-partition produce request.
func BenchmarkRequestPath(b *testing.B) {
	req := kmsg.NewPtrProduceRequest()
	req.Version = 11
	req.Acks = -1
	req.TimeoutMillis = 30000
	part := kmsg.NewProduceRequestTopicPartition()
	part.Records = make([]byte, 16<<10)
	topic := kmsg.NewProduceRequestTopic()
	topic.Topic = "bench"
	topic.Partitions = append(topic.Partitions, part)
	req.Topics = append(req.Topics, topic)
	wire := kmsg.NewRequestFormatter(kmsg.FormatterClientID("bench")).AppendRequest(nil, req, 1)
	spec := testAPIs(b).lookup(req.Key())
	r := bytes.NewReader(wire)
	br := bufio.NewReaderSize(r, ioBufferSize)
	var buf []byte
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for range b.N {
		r.Reset(wire)
		br.Reset(r)
		f, err := readFrame(br, 1<<20, buf)
		if err != nil {
			b.Fatal(err)
		}
		buf = f.buf
		h, err := parseRequestHeader(f.payload(), spec.flexible(req.Version))
		if err != nil {
			b.Fatal(err)
		}
		decoded := spec.newRequest()
		decoded.SetVersion(h.Version)
		if err := decoded.ReadFrom(f.payload()[h.BodyOffset:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRewriteMetadata decodes, rewrites and re-encodes a Metadata
// response naming 3 brokers and 100 partitions.
func BenchmarkRewriteMetadata(b *testing.B) {
	resp := kmsg.NewPtrMetadataResponse()
	resp.Version = 12
	for i := range int32(3) {
		br := kmsg.NewMetadataResponseBroker()
		br.NodeID, br.Host, br.Port = i, "kafka-internal-broker.example", 9092
		resp.Brokers = append(resp.Brokers, br)
	}
	topic := kmsg.NewMetadataResponseTopic()
	topic.Topic = kmsg.StringPtr("t")
	for i := range int32(100) {
		p := kmsg.NewMetadataResponseTopicPartition()
		p.Partition, p.Leader, p.Replicas, p.ISR = i, i%3, []int32{0, 1, 2}, []int32{0, 1, 2}
		topic.Partitions = append(topic.Partitions, p)
	}
	resp.Topics = append(resp.Topics, topic)
	body := resp.AppendTo(nil)
	a := staticAdvertiser{}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for range b.N {
		r := kmsg.ResponseForKey(3)
		r.SetVersion(12)
		if err := r.ReadFrom(body); err != nil {
			b.Fatal(err)
		}
		rewriteMetadata(r, a)
		_ = r.AppendTo(nil)
	}
}

type staticAdvertiser struct{}

func (staticAdvertiser) advertise(id int32, _ string, _ int32) (string, int32) {
	return "proxy.example", 9093 + id
}

// BenchmarkIdleConnectionMemory reports the memory an idle connection costs:
// each of 1000 raw clients sends Metadata (so that the proxy opens its
// upstream connection) and then stays idle; on proxy+auth it first logs in
// with SASL/PLAIN. The direct sub-benchmark measures the in-process
// broker's own share; the proxy's cost per connection is the difference
// between the bytes/conn figures. make bench measures the same as the
// resident memory of a proxy process in front of real Kafka.
func BenchmarkIdleConnectionMemory(b *testing.B) {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ClusterID(authTestCluster))
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	srv := startProxy(b, fake.ListenAddrs(), nil, fake).srv
	key, declared := makeAPIKey(b, "sa-idle")
	authSrv := startProxy(b, fake.ListenAddrs(), func(s *testSetup) {
		s.authn = testAuthn()
		s.authn.Accounts = []string{"sa-idle"}
		s.authn.Keys = []authn.Key{declared}
		s.policy.SuperUsers = []string{"User:sa-idle"}
	}, fake).srv

	format := kmsg.NewRequestFormatter()
	handshake := kmsg.NewPtrSASLHandshakeRequest()
	handshake.Version, handshake.Mechanism = 1, authn.MechanismPlain
	login := kmsg.NewPtrSASLAuthenticateRequest()
	login.Version, login.SASLAuthBytes = 2, plainMsg(key)
	metadata := format.AppendRequest(nil, kmsg.NewPtrMetadataRequest(), 3)
	// AppendRequest writes the size at the start of dst: one frame each.
	loginFrames := append(format.AppendRequest(nil, handshake, 1), format.AppendRequest(nil, login, 2)...)

	const conns = 1000
	for _, path := range []struct {
		name, addr string
		login      bool
	}{
		{"direct", fake.ListenAddrs()[0], false},
		{"proxy", srv.BootstrapAddr(), false},
		{"proxy+auth", authSrv.BootstrapAddr(), true},
	} {
		b.Run(path.name, func(b *testing.B) {
			for range b.N {
				before := inUse()
				open := make([]net.Conn, 0, conns)
				for range conns {
					c, err := net.Dial("tcp", path.addr)
					if err != nil {
						b.Fatal(err)
					}
					open = append(open, c)
					br := bufio.NewReader(c)
					if path.login {
						if _, err := c.Write(loginFrames); err != nil {
							b.Fatal(err)
						}
						for range 2 {
							if _, err := readFrame(br, 1<<20, nil); err != nil {
								b.Fatal(err)
							}
						}
					}
					if _, err := c.Write(metadata); err != nil {
						b.Fatal(err)
					}
					if _, err := readFrame(br, 1<<20, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(inUse()-before)/conns, "bytes/conn")
				for _, c := range open {
					c.Close()
				}
			}
		})
	}
}

// inUse is heap plus goroutine stacks in use, after a collection.
func inUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}
