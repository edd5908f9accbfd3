package authz

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The data path: producing, fetching and reading offsets, checked per
// topic; denied partitions get TOPIC_AUTHORIZATION_FAILED while the others
// go through.

// checkProduce needs Write on the transactional id of a transactional
// produce (else the whole request fails with 53), then Write on each
// topic.
func checkProduce(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.ProduceRequest)
	if r.TransactionID != nil && !c.Check.Authorize(ResourceTransactionalID, *r.TransactionID, OpWrite) {
		if r.Acks == 0 {
			return Verdict{Drop: true, Close: true}
		}
		return answer(req, func(resp kmsg.Response) {
			mergeProduce(resp.(*kmsg.ProduceResponse), r.Topics, func(*kmsg.ProduceRequestTopic) int16 { return errTxnID })
		})
	}
	codes, kept, denied := splitTopics(c, r.Topics, OpWrite, func(t *kmsg.ProduceRequestTopic) (string, [16]byte) { return t.Topic, t.TopicID })
	if len(denied) == 0 {
		return Verdict{}
	}
	r.Topics = kept
	if r.Acks == 0 {
		if len(kept) == 0 {
			return Verdict{Drop: true, Close: true}
		}
		return Verdict{Edited: true, Close: true}
	}
	return partialVerdict(req, true, len(kept) > 0, func(resp kmsg.Response) {
		mergeProduce(resp.(*kmsg.ProduceResponse), denied, func(t *kmsg.ProduceRequestTopic) int16 {
			return codes[topicKey(t.Topic, t.TopicID)]
		})
	})
}

// splitTopics splits topics named by name or id on op, and returns the
// error code of each denied one by topicKey.
func splitTopics[T any](c *Context, topics []T, op Operation, at func(*T) (string, [16]byte)) (codes map[string]int16, kept, denied []T) {
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

// topicKey identifies a topic named by name or by id.
func topicKey(name string, id [16]byte) string {
	if name != "" {
		return name
	}
	return string(id[:])
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

// checkFetch needs Read on each topic from a consumer, and ClusterAction
// on the cluster from a replica (which, as on a broker, otherwise gets 29
// for every partition).
func checkFetch(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.FetchRequest)
	full := r.SessionEpoch <= 0
	if c.FetchSessionStale != nil && c.FetchSessionStale(full) {
		return answer(req, func(resp kmsg.Response) {
			resp.(*kmsg.FetchResponse).ErrorCode = kerr.FetchSessionIDNotFound.Code
		})
	}
	replica := r.ReplicaID >= 0 || r.ReplicaState.ID >= 0 && r.Version >= 15
	if replica {
		if c.Check.Authorize(ResourceCluster, ClusterName, OpClusterAction) {
			return Verdict{}
		}
		return answer(req, func(resp kmsg.Response) { mergeFetch(resp.(*kmsg.FetchResponse), r.Topics, nil) })
	}
	codes, kept, denied := splitTopics(c, r.Topics, OpRead, func(t *kmsg.FetchRequestTopic) (string, [16]byte) { return t.Topic, t.TopicID })
	if len(denied) == 0 {
		return Verdict{}
	}
	r.Topics = kept
	return partialVerdict(req, true, len(kept) > 0, func(resp kmsg.Response) {
		mergeFetch(resp.(*kmsg.FetchResponse), denied, codes)
	})
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

// checkListOffsets needs Describe on each topic.
func checkListOffsets(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.ListOffsetsRequest)
	kept, denied := split(r.Topics, func(t *kmsg.ListOffsetsRequestTopic) bool {
		return c.Check.Authorize(ResourceTopic, t.Topic, OpDescribe)
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

// checkOffsetForLeaderEpoch needs Describe on each topic from a consumer,
// ClusterAction from a replica.
func checkOffsetForLeaderEpoch(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.OffsetForLeaderEpochRequest)
	replica := r.Version >= 3 && r.ReplicaID >= 0
	clusterOK := !replica || c.Check.Authorize(ResourceCluster, ClusterName, OpClusterAction)
	kept, denied := split(r.Topics, func(t *kmsg.OffsetForLeaderEpochRequestTopic) bool {
		if replica {
			return clusterOK
		}
		return c.Check.Authorize(ResourceTopic, t.Topic, OpDescribe)
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

// checkDeleteRecords needs Delete on each topic.
func checkDeleteRecords(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.DeleteRecordsRequest)
	kept, denied := split(r.Topics, func(t *kmsg.DeleteRecordsRequestTopic) bool {
		return c.Check.Authorize(ResourceTopic, t.Topic, OpDelete)
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

// checkDescribeProducers needs Read on each topic.
func checkDescribeProducers(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.DescribeProducersRequest)
	kept, denied := split(r.Topics, func(t *kmsg.DescribeProducersRequestTopic) bool {
		return c.Check.Authorize(ResourceTopic, t.Topic, OpRead)
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
