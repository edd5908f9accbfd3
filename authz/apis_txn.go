package authz

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Transactions and idempotence: a transactional id needs Write on it;
// offsets committed in a transaction also need the group and the topics.

// checkInitProducerID needs Write on the transactional id, or, for an
// idempotent producer, IdempotentWrite on the cluster or Write on some
// topic (KIP-679).
func checkInitProducerID(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.InitProducerIDRequest)
	if r.TransactionalID != nil {
		if c.Check.Authorize(ResourceTransactionalID, *r.TransactionalID, OpWrite) {
			return Verdict{}
		}
		return answer(req, func(resp kmsg.Response) { setErrorCode(resp, errTxnID) })
	}
	if c.Check.Filter(ResourceCluster, ClusterName, OpIdempotentWrite) || c.Check.AuthorizeAny(ResourceTopic, OpWrite) {
		return Verdict{}
	}
	c.Check.Authorize(ResourceCluster, ClusterName, OpIdempotentWrite) // audit the denial
	return answer(req, func(resp kmsg.Response) { setErrorCode(resp, errCluster) })
}

// checkAddPartitionsToTxn needs Write on the transactional id and on each
// topic. As on a broker, one denied topic fails the request: the others
// get OPERATION_NOT_ATTEMPTED. Version 4 and later are the brokers' own
// batched form, which needs ClusterAction.
func checkAddPartitionsToTxn(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.AddPartitionsToTxnRequest)
	if r.Version >= 4 {
		if c.Check.Authorize(ResourceCluster, ClusterName, OpClusterAction) {
			return Verdict{}
		}
		return answer(req, func(resp kmsg.Response) { setErrorCode(resp, errCluster) })
	}
	txnOK := c.Check.Authorize(ResourceTransactionalID, r.TransactionalID, OpWrite)
	var topicOK map[string]bool
	allOK := txnOK
	if txnOK {
		topicOK = make(map[string]bool, len(r.Topics))
		for _, t := range r.Topics {
			ok := c.Check.Authorize(ResourceTopic, t.Topic, OpWrite)
			topicOK[t.Topic] = ok
			allOK = allOK && ok
		}
	}
	if allOK {
		return Verdict{}
	}
	return answer(req, func(resp kmsg.Response) {
		out := resp.(*kmsg.AddPartitionsToTxnResponse)
		for _, t := range r.Topics {
			code := errTxnID
			switch {
			case !txnOK:
			case topicOK[t.Topic]:
				code = kerr.OperationNotAttempted.Code
			default:
				code = errTopic
			}
			rt := kmsg.NewAddPartitionsToTxnResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			out.Topics = append(out.Topics, rt)
		}
	})
}

// checkAddOffsetsToTxn needs Write on the transactional id and Read on the
// group.
func checkAddOffsetsToTxn(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.AddOffsetsToTxnRequest)
	code := int16(0)
	switch {
	case !c.Check.Authorize(ResourceTransactionalID, r.TransactionalID, OpWrite):
		code = errTxnID
	case !c.Check.Authorize(ResourceGroup, r.Group, OpRead):
		code = errGroup
	default:
		return Verdict{}
	}
	return answer(req, func(resp kmsg.Response) { setErrorCode(resp, code) })
}

// checkEndTxn needs Write on the transactional id.
func checkEndTxn(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.EndTxnRequest)
	if c.Check.Authorize(ResourceTransactionalID, r.TransactionalID, OpWrite) {
		return Verdict{}
	}
	return answer(req, func(resp kmsg.Response) {
		out := resp.(*kmsg.EndTxnResponse)
		out.ErrorCode, out.ProducerID, out.ProducerEpoch = errTxnID, -1, -1
	})
}

// checkTxnOffsetCommit needs Write on the transactional id and Read on the
// group (each failing every partition), then Read on each topic.
func checkTxnOffsetCommit(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.TxnOffsetCommitRequest)
	code := int16(0)
	switch {
	case !c.Check.Authorize(ResourceTransactionalID, r.TransactionalID, OpWrite):
		code = errTxnID
	case !c.Check.Authorize(ResourceGroup, r.Group, OpRead):
		code = errGroup
	}
	if code != 0 {
		return answer(req, func(resp kmsg.Response) {
			mergeTxnOffsetCommit(resp.(*kmsg.TxnOffsetCommitResponse), r.Topics, nil, code)
		})
	}
	codes, kept, denied := splitTopics(c, r.Topics, OpRead, func(t *kmsg.TxnOffsetCommitRequestTopic) (string, [16]byte) { return t.Topic, t.TopicID })
	r.Topics = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		mergeTxnOffsetCommit(resp.(*kmsg.TxnOffsetCommitResponse), denied, codes, errTopic)
	})
}

func mergeTxnOffsetCommit(out *kmsg.TxnOffsetCommitResponse, topics []kmsg.TxnOffsetCommitRequestTopic, codes map[string]int16, code int16) {
	for _, t := range topics {
		c := code
		if x, ok := codes[topicKey(t.Topic, t.TopicID)]; ok {
			c = x
		}
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, c
			rt.Partitions = append(rt.Partitions, rp)
		}
		out.Topics = append(out.Topics, rt)
	}
}

// checkDescribeTransactions needs Describe on each transactional id.
func checkDescribeTransactions(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.DescribeTransactionsRequest)
	kept, denied := split(r.TransactionalIDs, func(id *string) bool {
		return c.Check.Authorize(ResourceTransactionalID, *id, OpDescribe)
	})
	r.TransactionalIDs = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.DescribeTransactionsResponse)
		for _, id := range denied {
			s := kmsg.NewDescribeTransactionsResponseTransactionState()
			s.TransactionalID, s.ErrorCode, s.ProducerID, s.ProducerEpoch = id, errTxnID, -1, -1
			out.TransactionStates = append(out.TransactionStates, s)
		}
	})
}

// checkListTransactions lists only the transactional ids the principal
// may describe.
func checkListTransactions(c *Context, _ kmsg.Request) Verdict {
	return Verdict{Patch: func(resp kmsg.Response) {
		out := resp.(*kmsg.ListTransactionsResponse)
		out.TransactionStates, _ = split(out.TransactionStates, func(s *kmsg.ListTransactionsResponseTransactionState) bool {
			return c.Check.Filter(ResourceTransactionalID, s.TransactionalID, OpDescribe)
		})
	}}
}
