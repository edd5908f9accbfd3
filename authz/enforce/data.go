package enforce

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
)

// The data path: producing, fetching and reading offsets, checked per
// topic; denied partitions get TOPIC_AUTHORIZATION_FAILED while the others
// go through.

// Produce needs Write on the transactional id of a transactional
// produce (else the whole request fails with 53), then Write on each
// topic.
func Produce(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.ProduceRequest)
	if r.TransactionID != nil && !c.Check.Authorize(authz.ResourceTransactionalID, *r.TransactionID, authz.OpWrite) {
		if r.Acks == 0 {
			return DropAndClose()
		}
		return answer(req, func(resp kmsg.Response) {
			mergeProduce(resp.(*kmsg.ProduceResponse), r.Topics, func(*kmsg.ProduceRequestTopic) int16 { return errTxnID })
		})
	}
	codes, kept, denied := splitTopics(c, r.Topics, authz.OpWrite, func(t *kmsg.ProduceRequestTopic) (string, [16]byte) { return t.Topic, t.TopicID })
	if len(denied) == 0 {
		return Forward()
	}
	r.Topics = kept
	if r.Acks == 0 {
		if len(kept) == 0 {
			return DropAndClose()
		}
		return ForwardEditedThenClose()
	}
	return partialVerdict(req, true, len(kept) > 0, func(resp kmsg.Response) {
		mergeProduce(resp.(*kmsg.ProduceResponse), denied, func(t *kmsg.ProduceRequestTopic) int16 {
			return codes[topicKey(t.Topic, t.TopicID)]
		})
	})
}

// splitTopics splits topics named by name or id on op, and returns the
// error code of each denied one by topicKey.
func splitTopics[T any](c *Client, topics []T, op authz.Operation, at func(*T) (string, [16]byte)) (codes map[string]int16, kept, denied []T) {
	kept, denied = split(topics, func(t *T) bool {
		name, id := at(t)
		code := c.topicCode(name, id, op)
		if code != 0 {
			if codes == nil {
				codes = map[string]int16{}
			}
			codes[topicKey(name, id)] = code
		}
		return code == 0
	})
	return codes, kept, denied
}

// namesReserved reports whether a Fetch names a reserved topic, by name
// or by id. A replica's Fetch is allowed by ClusterAction, not per topic,
// so it is refused whole when it does.
func (c *Client) namesReserved(r *kmsg.FetchRequest) bool {
	for _, t := range r.Topics {
		if n, ok := c.topicName(t.Topic, t.TopicID); !ok || c.Check.Reserved(n) {
			return true
		}
	}
	return false
}

// topicKey identifies a topic named by name, by id or both: by the id
// when it is set, as topicName does.
func topicKey(name string, id [16]byte) string {
	if id != ([16]byte{}) {
		return string(id[:])
	}
	return name
}

func mergeProduce(resp *kmsg.ProduceResponse, topics []kmsg.ProduceRequestTopic, code func(*kmsg.ProduceRequestTopic) int16) {
	for i := range topics {
		t := &topics[i]
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = code(t)
			rp.BaseOffset, rp.LogAppendTime, rp.LogStartOffset = -1, -1, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
}

// Fetch needs Read on each topic from a consumer, and ClusterAction on
// the cluster from a replica (which, as on a broker, otherwise gets 29 for
// every partition). A request may use only a fetch session the broker
// created for this connection, whose topics the principal may all still
// read (fetchsession.go); other session ids get FETCH_SESSION_ID_NOT_FOUND.
// The proxy reports the broker's answer to a forwarded Fetch through
// Client.TakeFetch.
func Fetch(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.FetchRequest)
	code, edited := c.fetchSessions().begin(c, r)
	if code != 0 {
		return answer(req, func(resp kmsg.Response) { resp.(*kmsg.FetchResponse).ErrorCode = code })
	}
	var merge func(kmsg.Response)
	if isReplica(r) {
		if !c.Check.Authorize(authz.ResourceCluster, authz.ClusterName, authz.OpClusterAction) || c.namesReserved(r) {
			c.fetch.req = nil
			return answer(r, func(resp kmsg.Response) { mergeFetch(resp.(*kmsg.FetchResponse), r.Topics, nil) })
		}
	} else {
		codes, kept, denied := splitTopics(c, r.Topics, authz.OpRead, func(t *kmsg.FetchRequestTopic) (string, [16]byte) { return t.Topic, t.TopicID })
		switch {
		case len(denied) == 0:
		case len(kept) == 0:
			c.fetch.req = nil
			return answer(r, func(resp kmsg.Response) { mergeFetch(resp.(*kmsg.FetchResponse), denied, codes) })
		default:
			r.Topics, edited = kept, true
			merge = func(resp kmsg.Response) { mergeFetch(resp.(*kmsg.FetchResponse), denied, codes) }
		}
	}
	// The topics the request adds to its session were all allowed.
	if fs := c.fetch.fs; fs != nil {
		fs.addTopics(c, r.Topics)
	}
	if edited {
		return ForwardEdited(merge)
	}
	return Forward()
}

// mergeFetch adds an error entry for each partition of topics: its code in
// codes, or 29.
func mergeFetch(resp *kmsg.FetchResponse, topics []kmsg.FetchRequestTopic, codes map[string]int16) {
	for _, t := range topics {
		code, ok := codes[topicKey(t.Topic, t.TopicID)]
		if !ok {
			code = errTopic
		}
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewFetchResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = code
			rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
}

// ListOffsets needs Describe on each topic.
func ListOffsets(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.ListOffsetsRequest)
	kept, denied := split(r.Topics, func(t *kmsg.ListOffsetsRequestTopic) bool {
		return c.Check.Authorize(authz.ResourceTopic, t.Topic, authz.OpDescribe)
	})
	r.Topics = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.ListOffsetsResponse)
		for _, t := range denied {
			rt := kmsg.NewListOffsetsResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewListOffsetsResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, errTopic
				rt.Partitions = append(rt.Partitions, rp)
			}
			out.Topics = append(out.Topics, rt)
		}
	})
}

// OffsetForLeaderEpoch needs Describe on each topic from a consumer,
// ClusterAction from a replica.
func OffsetForLeaderEpoch(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.OffsetForLeaderEpochRequest)
	replica := r.Version >= 3 && r.ReplicaID >= 0
	clusterOK := !replica || c.Check.Authorize(authz.ResourceCluster, authz.ClusterName, authz.OpClusterAction)
	kept, denied := split(r.Topics, func(t *kmsg.OffsetForLeaderEpochRequestTopic) bool {
		if replica {
			return clusterOK && !c.Check.Reserved(t.Topic)
		}
		return c.Check.Authorize(authz.ResourceTopic, t.Topic, authz.OpDescribe)
	})
	r.Topics = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.OffsetForLeaderEpochResponse)
		for _, t := range denied {
			rt := kmsg.NewOffsetForLeaderEpochResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, errTopic
				rp.LeaderEpoch, rp.EndOffset = -1, -1
				rt.Partitions = append(rt.Partitions, rp)
			}
			out.Topics = append(out.Topics, rt)
		}
	})
}

// DeleteRecords needs Delete on each topic.
func DeleteRecords(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.DeleteRecordsRequest)
	kept, denied := split(r.Topics, func(t *kmsg.DeleteRecordsRequestTopic) bool {
		return c.Check.Authorize(authz.ResourceTopic, t.Topic, authz.OpDelete)
	})
	r.Topics = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.DeleteRecordsResponse)
		for _, t := range denied {
			rt := kmsg.NewDeleteRecordsResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewDeleteRecordsResponseTopicPartition()
				rp.Partition, rp.ErrorCode, rp.LowWatermark = p.Partition, errTopic, -1
				rt.Partitions = append(rt.Partitions, rp)
			}
			out.Topics = append(out.Topics, rt)
		}
	})
}

// DescribeProducers needs Read on each topic.
func DescribeProducers(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.DescribeProducersRequest)
	kept, denied := split(r.Topics, func(t *kmsg.DescribeProducersRequestTopic) bool {
		return c.Check.Authorize(authz.ResourceTopic, t.Topic, authz.OpRead)
	})
	r.Topics = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.DescribeProducersResponse)
		for _, t := range denied {
			rt := kmsg.NewDescribeProducersResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewDescribeProducersResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p, errTopic
				rt.Partitions = append(rt.Partitions, rp)
			}
			out.Topics = append(out.Topics, rt)
		}
	})
}
