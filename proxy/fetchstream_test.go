package proxy

import (
	"bufio"
	"bytes"
	"context"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestFetchWalkCoversEveryAdvertisedFetchVersion(t *testing.T) {
	spec := testAPIs(t).byKey[kmsg.Fetch.Int16()]
	if spec.reviewed > fetchWalkMaxVersion || spec.rewriteFrom < fetchWalkMinVersion {
		t.Fatalf("Fetch v%d..v%d may be rewritten but the walker knows v%d..v%d: review fetchstream.go against the new versions",
			spec.rewriteFrom, spec.reviewed, fetchWalkMinVersion, fetchWalkMaxVersion)
	}
}

// randomFetchResponse builds a Fetch response exercising every part of the
// layout the walker follows.
func randomFetchResponse(rng *rand.Rand, version int16) *kmsg.FetchResponse {
	r := kmsg.NewPtrFetchResponse()
	r.Version = version
	r.ThrottleMillis = 0 // clients wait out a throttle before their next request
	r.SessionID = rng.Int32()
	for range rng.IntN(3) + 1 {
		topic := kmsg.NewFetchResponseTopic()
		for i := range topic.TopicID {
			topic.TopicID[i] = byte(rng.IntN(256))
		}
		for p := range rng.IntN(4) + 1 {
			part := kmsg.NewFetchResponseTopicPartition()
			part.Partition = int32(p)
			part.HighWatermark = rng.Int64()
			part.LastStableOffset = rng.Int64()
			part.PreferredReadReplica = int32(rng.IntN(5)) - 1
			for range rng.IntN(3) {
				a := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
				a.ProducerID, a.FirstOffset = rng.Int64(), rng.Int64()
				part.AbortedTransactions = append(part.AbortedTransactions, a)
			}
			switch rng.IntN(4) {
			case 0: // no records
			case 1:
				part.RecordBatches = make([]byte, rng.IntN(2000))
			default: // large enough to be spliced
				part.RecordBatches = make([]byte, spliceThreshold+rng.IntN(300<<10))
			}
			for i := range part.RecordBatches {
				part.RecordBatches[i] = byte(rng.IntN(256))
			}
			if rng.IntN(3) == 0 {
				part.ErrorCode = 6 // NOT_LEADER_OR_FOLLOWER
				part.CurrentLeader.LeaderID, part.CurrentLeader.LeaderEpoch = 1, 7
				part.DivergingEpoch.Epoch, part.DivergingEpoch.EndOffset = 3, 99
			}
			topic.Partitions = append(topic.Partitions, part)
		}
		r.Topics = append(r.Topics, topic)
	}
	for id := range int32(rng.IntN(4)) {
		r.Brokers = append(r.Brokers, broker(id, "kafka-"+strconv.Itoa(int(id))+".upstream.internal"))
	}
	return r
}

// TestFetchResponsesRelayIntact sends random Fetch responses of every
// walked version through the proxy: topics, partitions and record bytes
// arrive unchanged, and NodeEndpoints name only the proxy.
func TestFetchResponsesRelayIntact(t *testing.T) {
	p := newTestProxy(t, 1)
	base := int32(p.srv.cfg.Listeners[0].BrokerPortBase)
	rng := rand.New(rand.NewPCG(1, 2))
	var want *kmsg.FetchResponse
	p.fake.ControlKey(kmsg.Fetch.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		p.fake.KeepControl()
		w := *want
		w.Version = req.GetVersion()
		return &w, nil, true
	})
	for version := int16(fetchWalkMinVersion); version <= testAPIs(t).byKey[kmsg.Fetch.Int16()].reviewed; version++ {
		cl := p.client(t, kgo.MaxVersions(kversionsWith(kmsg.Fetch.Int16(), version)))
		for i := range 8 {
			want = randomFetchResponse(rng, version)
			req := kmsg.NewPtrFetchRequest()
			req.MaxWaitMillis = 1
			got, err := req.RequestWith(context.Background(), cl)
			if err != nil {
				t.Fatalf("v%d #%d: %v", version, i, err)
			}
			if got.Version != version {
				t.Fatalf("answered v%d, want v%d", got.Version, version)
			}
			if !reflect.DeepEqual(normalize(got.Topics), normalize(want.Topics)) {
				t.Fatalf("v%d #%d: topics changed on the way", version, i)
			}
			if version < 16 {
				continue
			}
			if len(want.Brokers) > 0 && len(got.Brokers) == 0 {
				t.Fatalf("v%d #%d: NodeEndpoints dropped although the proxy host is short", version, i)
			}
			for _, b := range got.Brokers {
				if b.Host != "127.0.0.1" || b.Port != base+b.NodeID {
					t.Fatalf("v%d #%d: endpoint %d at %s:%d", version, i, b.NodeID, b.Host, b.Port)
				}
			}
		}
	}
}

// normalize clears what decoding may legitimately represent differently
// (nil versus empty).
func normalize(topics []kmsg.FetchResponseTopic) []kmsg.FetchResponseTopic {
	out := make([]kmsg.FetchResponseTopic, len(topics))
	for i, tp := range topics {
		tp.Partitions = append([]kmsg.FetchResponseTopicPartition(nil), tp.Partitions...)
		for j := range tp.Partitions {
			part := &tp.Partitions[j]
			if len(part.RecordBatches) == 0 {
				part.RecordBatches = nil
			}
			if len(part.AbortedTransactions) == 0 {
				part.AbortedTransactions = nil
			}
		}
		out[i] = tp
	}
	return out
}

// walkBytes runs the walker over one response body (after the header tag
// section) held in memory.
func walkBytes(version int16, body []byte) ([]byte, error) {
	input := append([]byte{0}, body...) // empty response header tags
	raw := bytes.NewReader(input)
	var out bytes.Buffer
	dst := bufio.NewWriter(&out)
	w := &fetchWalker{
		src: bufio.NewReaderSize(raw, ioBufferSize), srcRaw: raw, dst: dst, dstRaw: &out,
		a: hostAdvertiser("p"), version: version, left: len(input),
	}
	err := w.walk()
	if ferr := dst.Flush(); err == nil {
		err = ferr
	}
	return out.Bytes(), err
}

// FuzzFetchWalk checks the walker against kmsg: any body kmsg decodes as a
// Fetch response, the walker relays unchanged (or, when it names brokers,
// with only proxy addresses), and no input makes it panic.
func FuzzFetchWalk(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, v := range []int16{16, 17, 18} {
		for range 4 {
			r := randomFetchResponse(rng, v)
			// Small inputs fuzz fast; one seed below keeps the direct
			// copy of large record sets covered.
			for _, tp := range r.Topics {
				for i := range tp.Partitions {
					if p := &tp.Partitions[i]; len(p.RecordBatches) > 256 {
						p.RecordBatches = p.RecordBatches[:256]
					}
				}
			}
			f.Add(v, r.AppendTo(nil))
		}
	}
	large := bigFetchResponse(f, 16, make([]byte, spliceThreshold+10), broker(1, "upstream"))
	f.Add(int16(16), large.AppendTo(nil))
	f.Fuzz(func(t *testing.T, version int16, body []byte) {
		if version < 16 || version > fetchWalkMaxVersion {
			return
		}
		out, err := walkBytes(version, body)
		want := kmsg.NewPtrFetchResponse()
		want.Version = version
		if want.ReadFrom(body) != nil {
			return // not a response: the walker may fail, but not panic
		}
		if err != nil {
			t.Fatalf("kmsg decodes the response but the walker fails: %v", err)
		}
		if len(out) != len(body)+1 {
			t.Fatalf("relayed %d bytes of %d", len(out), len(body)+1)
		}
		if len(want.Brokers) == 0 {
			if !bytes.Equal(out[1:], body) {
				t.Fatal("a response naming no broker changed on the way")
			}
			return
		}
		got := kmsg.NewPtrFetchResponse()
		got.Version = version
		if err := got.ReadFrom(out[1:]); err != nil {
			t.Fatalf("relayed response does not decode: %v", err)
		}
		for _, b := range got.Brokers {
			if b.Host != "p" {
				t.Fatalf("endpoint %d still at %s", b.NodeID, b.Host)
			}
		}
	})
}
