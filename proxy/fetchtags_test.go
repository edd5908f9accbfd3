package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// hostAdvertiser advertises every broker at host, port 9000+id.
type hostAdvertiser string

func (h hostAdvertiser) advertise(id int32, _ string, _ int32) (string, int32) {
	return string(h), 9000 + id
}

func bigFetchResponse(t testing.TB, version int16, records []byte, brokers ...kmsg.FetchResponseBroker) *kmsg.FetchResponse {
	t.Helper()
	r := kmsg.NewPtrFetchResponse()
	r.Version = version
	topic := kmsg.NewFetchResponseTopic()
	topic.TopicID = [16]byte{1, 2, 3}
	part := kmsg.NewFetchResponseTopicPartition()
	part.RecordBatches = records
	part.HighWatermark = 42
	topic.Partitions = append(topic.Partitions, part)
	r.Topics = append(r.Topics, topic)
	r.Brokers = brokers
	return r
}

func broker(id int32, host string) kmsg.FetchResponseBroker {
	b := kmsg.NewFetchResponseBroker()
	b.NodeID, b.Host, b.Port = id, host, 9092
	return b
}

func TestRewriteFetchTagsKeepsSizeAndRecords(t *testing.T) {
	records := make([]byte, 200<<10)
	_, _ = rand.Read(records)
	tests := []struct {
		name       string
		version    int16
		brokers    []kmsg.FetchResponseBroker
		advertised string
		wantHosts  []string // nil: NodeEndpoints dropped
	}{
		{"same length host", 16, []kmsg.FetchResponseBroker{broker(1, "10.0.0.1")}, "proxy-01", []string{"proxy-01"}},
		{"shorter host is padded", 17, []kmsg.FetchResponseBroker{broker(1, "kafka-1.internal.example")}, "p", []string{"p"}},
		// A tag costs at least two bytes, so one spare byte cannot be padded.
		{"one byte shorter drops NodeEndpoints", 16, []kmsg.FetchResponseBroker{broker(2, "broker-2x")}, "proxy-01", nil},
		{"two bytes shorter", 16, []kmsg.FetchResponseBroker{broker(2, "broker-2xy")}, "proxy-01", []string{"proxy-01"}},
		{"several brokers", 18, []kmsg.FetchResponseBroker{broker(1, "kafka-1.internal"), broker(2, "kafka-2.internal"), broker(3, "kafka-3.internal")}, "proxy.example", []string{"proxy.example", "proxy.example", "proxy.example"}},
		{"longer host drops NodeEndpoints", 16, []kmsg.FetchResponseBroker{broker(1, "k1")}, "kafka-proxy.a-long-name.example.com", nil},
		{"long host list", 16, func() (bs []kmsg.FetchResponseBroker) {
			for i := range int32(200) {
				bs = append(bs, broker(i, strings.Repeat("b", 60)))
			}
			return bs
		}(), "proxy", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "long host list" {
				tt.wantHosts = make([]string, 200)
				for i := range tt.wantHosts {
					tt.wantHosts[i] = "proxy"
				}
			}
			resp := bigFetchResponse(t, tt.version, records, tt.brokers...)
			enc := resp.AppendTo(nil)
			orig := append([]byte(nil), enc...)
			decoded := kmsg.NewPtrFetchResponse()
			decoded.Version = tt.version
			if err := decoded.ReadFrom(enc); err != nil {
				t.Fatal(err)
			}
			at := len(enc) - len(fetchTagSection(tt.version, tt.brokers, kmsg.Tags{}))
			if err := rewriteFetchTags(decoded, enc[at:], hostAdvertiser(tt.advertised)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc[:at], orig[:at]) {
				t.Fatal("bytes before the tag section changed")
			}
			got := kmsg.NewPtrFetchResponse()
			got.Version = tt.version
			if err := got.ReadFrom(enc); err != nil {
				t.Fatalf("rewritten response does not decode: %v", err)
			}
			if !bytes.Equal(got.Topics[0].Partitions[0].RecordBatches, records) {
				t.Fatal("records changed")
			}
			if len(got.Brokers) != len(tt.wantHosts) {
				t.Fatalf("%d NodeEndpoints, want %d", len(got.Brokers), len(tt.wantHosts))
			}
			for i, b := range got.Brokers {
				if b.Host != tt.wantHosts[i] || b.Port != 9000+b.NodeID {
					t.Errorf("endpoint %d: %s:%d", b.NodeID, b.Host, b.Port)
				}
			}
		})
	}
}

// TestLargeFetchWithNodeEndpointsStreamsRewritten serves a 1 MiB Fetch
// response, naming an upstream broker in NodeEndpoints,
// and checks the client gets the records intact and only proxy addresses.
func TestLargeFetchWithNodeEndpointsStreamsRewritten(t *testing.T) {
	p := newTestProxy(t, 1, kfake.SeedTopics(1, "big"))
	records := make([]byte, 1<<20)
	_, _ = rand.Read(records)
	p.fake.ControlKey(kmsg.Fetch.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		resp := bigFetchResponse(t, req.GetVersion(), records, broker(0, "upstream-broker-0.internal"))
		return resp, nil, true
	})
	cl := p.client(t)
	req := kmsg.NewPtrFetchRequest()
	req.Version = 16
	req.MaxWaitMillis = 10
	topic := kmsg.NewFetchRequestTopic()
	topic.TopicID = [16]byte{1, 2, 3}
	part := kmsg.NewFetchRequestTopicPartition()
	part.PartitionMaxBytes = 4 << 20
	topic.Partitions = append(topic.Partitions, part)
	req.Topics = append(req.Topics, topic)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Version < 16 {
		t.Fatalf("answered v%d", resp.Version)
	}
	if !bytes.Equal(resp.Topics[0].Partitions[0].RecordBatches, records) {
		t.Fatal("records changed on the way")
	}
	base := int32(p.srv.cfg.Listeners[0].BrokerPortBase)
	if len(resp.Brokers) != 1 || resp.Brokers[0].Host != "127.0.0.1" || resp.Brokers[0].Port != base {
		t.Fatalf("NodeEndpoints %+v, want 127.0.0.1:%d", resp.Brokers, base)
	}
}

// TestRewriteTrailingTagsAnyHostLengths checks every combination of
// upstream and advertised host lengths up to 150 bytes: the section either
// names only proxy addresses or none, and never changes size.
func TestRewriteFetchTagsAnyHostLengths(t *testing.T) {
	records := make([]byte, 300<<10)
	for up := 1; up <= 150; up += 7 {
		for adv := 1; adv <= 150; adv += 3 {
			brokers := []kmsg.FetchResponseBroker{broker(1, strings.Repeat("u", up)), broker(2, strings.Repeat("v", up+1))}
			resp := bigFetchResponse(t, 16, records, brokers...)
			enc := resp.AppendTo(nil)
			size := len(enc)
			at := len(enc) - len(fetchTagSection(16, brokers, kmsg.Tags{}))
			if err := rewriteFetchTags(resp, enc[at:], hostAdvertiser(strings.Repeat("p", adv))); err != nil {
				t.Fatalf("upstream host %d, advertised %d: %v", up, adv, err)
			}
			got := kmsg.NewPtrFetchResponse()
			got.Version = 16
			if err := got.ReadFrom(enc); err != nil || len(enc) != size {
				t.Fatalf("upstream host %d, advertised %d: decode %v, size %d->%d", up, adv, err, size, len(enc))
			}
			for _, b := range got.Brokers {
				if strings.Contains(b.Host, "u") || strings.Contains(b.Host, "v") {
					t.Fatalf("upstream host %d, advertised %d: upstream host left in place", up, adv)
				}
			}
		}
	}
}
