package proxy

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// advertiser maps an upstream broker to the address clients must use for it.
// advertise records the broker's upstream address (so that its proxy port
// can forward there) and returns the proxy's host and port for it.
type advertiser interface {
	advertise(nodeID int32, host string, port int32) (string, int32)
}

// rewriteFunc edits, in place, a decoded response that names brokers and
// reports whether anything changed.
type rewriteFunc func(resp kmsg.Response, a advertiser) bool

// advertiseEach points every broker entry at the proxy; at says where an
// entry keeps its node id, host and port.
func advertiseEach[B any](brokers []B, a advertiser, at func(*B) (int32, *string, *int32)) bool {
	for i := range brokers {
		id, host, port := at(&brokers[i])
		*host, *port = a.advertise(id, *host, *port)
	}
	return len(brokers) > 0
}

func rewriteMetadata(resp kmsg.Response, a advertiser) bool {
	return advertiseEach(resp.(*kmsg.MetadataResponse).Brokers, a,
		func(b *kmsg.MetadataResponseBroker) (int32, *string, *int32) { return b.NodeID, &b.Host, &b.Port })
}

func rewriteDescribeCluster(resp kmsg.Response, a advertiser) bool {
	return advertiseEach(resp.(*kmsg.DescribeClusterResponse).Brokers, a,
		func(b *kmsg.DescribeClusterResponseBroker) (int32, *string, *int32) {
			return b.NodeID, &b.Host, &b.Port
		})
}

// rewriteProduce rewrites KIP-951 NodeEndpoints (Produce v10+), sent when a
// partition's leader moved. Fetch's are rewritten while they stream
// (fetchstream.go).
func rewriteProduce(resp kmsg.Response, a advertiser) bool {
	return advertiseEach(resp.(*kmsg.ProduceResponse).Brokers, a,
		func(b *kmsg.ProduceResponseBroker) (int32, *string, *int32) { return b.NodeID, &b.Host, &b.Port })
}

// rewriteFetch rewrites Fetch v16+ NodeEndpoints in a response that is
// buffered because authorization edits it; others stream (fetchstream.go).
func rewriteFetch(resp kmsg.Response, a advertiser) bool {
	return advertiseEach(resp.(*kmsg.FetchResponse).Brokers, a,
		func(b *kmsg.FetchResponseBroker) (int32, *string, *int32) { return b.NodeID, &b.Host, &b.Port })
}

// rewriteFindCoordinator handles both the single-key form (v0-3) and the
// batched form (v4+). Entries with an error carry node -1 and no address.
func rewriteFindCoordinator(resp kmsg.Response, a advertiser) bool {
	r := resp.(*kmsg.FindCoordinatorResponse)
	changed := false
	if r.NodeID >= 0 && r.Host != "" {
		r.Host, r.Port = a.advertise(r.NodeID, r.Host, r.Port)
		changed = true
	}
	for i := range r.Coordinators {
		c := &r.Coordinators[i]
		if c.NodeID >= 0 && c.Host != "" {
			c.Host, c.Port = a.advertise(c.NodeID, c.Host, c.Port)
			changed = true
		}
	}
	return changed
}

// rewriteDescribeQuorum removes controller listener endpoints (v2+). They
// name controller addresses, which clients cannot reach through the proxy
// and must not learn.
func rewriteDescribeQuorum(resp kmsg.Response, _ advertiser) bool {
	r := resp.(*kmsg.DescribeQuorumResponse)
	changed := false
	for i := range r.Nodes {
		if len(r.Nodes[i].Listeners) > 0 {
			r.Nodes[i].Listeners = nil
			changed = true
		}
	}
	return changed
}
