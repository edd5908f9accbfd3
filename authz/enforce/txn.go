package enforce

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
)

// Transactions and idempotence: a transactional id needs Write on it;
// offsets committed in a transaction also need the group and the topics.

// InitProducerID needs Write on the transactional id, or, for an
// idempotent producer, IdempotentWrite on the cluster or Write on some
// topic (KIP-679).
func InitProducerID(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.InitProducerIDRequest)
	if r.TransactionalID != nil {
		if c.Check.Authorize(authz.ResourceTransactionalID, *r.TransactionalID, authz.OpWrite) {
			return Forward()
		}
		return answer(req, func(resp kmsg.Response) { setErrorCode(resp, errTxnID) })
	}
	if c.Check.Visible(authz.ResourceCluster, authz.ClusterName, authz.OpIdempotentWrite) || c.Check.AuthorizeAny(authz.ResourceTopic, authz.OpWrite) {
		return Forward()
	}
	c.Check.Authorize(authz.ResourceCluster, authz.ClusterName, authz.OpIdempotentWrite) // audit the denial
	return answer(req, func(resp kmsg.Response) { setErrorCode(resp, errCluster) })
}

// AddPartitionsToTxn needs Write on the transactional id and on each
// topic. As on a broker, one denied topic fails the request: the others
// get OPERATION_NOT_ATTEMPTED. Version 4 and later are the brokers' own
// batched form, which needs ClusterAction.
func AddPartitionsToTxn(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.AddPartitionsToTxnRequest)
	if r.Version >= 4 {
		for _, tx := range r.Transactions {
			for _, t := range tx.Topics {
				if c.Check.Reserved(t.Topic) {
					return answer(req, func(resp kmsg.Response) { setErrorCode(resp, errTopic) })
				}
			}
		}
		if c.Check.Authorize(authz.ResourceCluster, authz.ClusterName, authz.OpClusterAction) {
			return Forward()
		}
		return answer(req, func(resp kmsg.Response) { setErrorCode(resp, errCluster) })
	}
	txnOK := c.Check.Authorize(authz.ResourceTransactionalID, r.TransactionalID, authz.OpWrite)
	var topicOK map[string]bool
	allOK := txnOK
	if txnOK {
		topicOK = make(map[string]bool, len(r.Topics))
		for _, t := range r.Topics {
			ok := c.Check.Authorize(authz.ResourceTopic, t.Topic, authz.OpWrite)
			topicOK[t.Topic] = ok
			allOK = allOK && ok
		}
	}
	if allOK {
		return Forward()
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

// AddOffsetsToTxn needs Write on the transactional id and Read on the
// group.
func AddOffsetsToTxn(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.AddOffsetsToTxnRequest)
	code := int16(0)
	switch {
	case !c.Check.Authorize(authz.ResourceTransactionalID, r.TransactionalID, authz.OpWrite):
		code = errTxnID
	case !c.Check.Authorize(authz.ResourceGroup, r.Group, authz.OpRead):
		code = errGroup
	default:
		return Forward()
	}
	return answer(req, func(resp kmsg.Response) { setErrorCode(resp, code) })
}

// EndTxn needs Write on the transactional id.
func EndTxn(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.EndTxnRequest)
	if c.Check.Authorize(authz.ResourceTransactionalID, r.TransactionalID, authz.OpWrite) {
		return Forward()
	}
	return answer(req, func(resp kmsg.Response) {
		out := resp.(*kmsg.EndTxnResponse)
		out.ErrorCode, out.ProducerID, out.ProducerEpoch = errTxnID, -1, -1
	})
}

// TxnOffsetCommit needs Write on the transactional id and Read on the
// group (each failing every partition), then Read on each topic.
func TxnOffsetCommit(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.TxnOffsetCommitRequest)
	code := int16(0)
	switch {
	case !c.Check.Authorize(authz.ResourceTransactionalID, r.TransactionalID, authz.OpWrite):
		code = errTxnID
	case !c.Check.Authorize(authz.ResourceGroup, r.Group, authz.OpRead):
		code = errGroup
	}
	if code != 0 {
		return answer(req, func(resp kmsg.Response) {
			mergeTxnOffsetCommit(resp.(*kmsg.TxnOffsetCommitResponse), r.Topics, nil, code)
		})
	}
	codes, kept, denied := splitTopics(c, r.Topics, authz.OpRead, func(t *kmsg.TxnOffsetCommitRequestTopic) (string, [16]byte) { return t.Topic, t.TopicID })
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

// DescribeTransactions needs Describe on each transactional id. As on a
// broker, a transaction's partitions are listed only for the topics the
// principal may describe.
func DescribeTransactions(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.DescribeTransactionsRequest)
	kept, denied := split(r.TransactionalIDs, func(id *string) bool {
		return c.Check.Authorize(authz.ResourceTransactionalID, *id, authz.OpDescribe)
	})
	r.TransactionalIDs = kept
	return patchedVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.DescribeTransactionsResponse)
		for i := range out.TransactionStates {
			st := &out.TransactionStates[i]
			st.Topics, _ = split(st.Topics, func(t *kmsg.DescribeTransactionsResponseTransactionStateTopic) bool {
				return c.Check.Visible(authz.ResourceTopic, t.Topic, authz.OpDescribe)
			})
		}
		for _, id := range denied {
			s := kmsg.NewDescribeTransactionsResponseTransactionState()
			s.TransactionalID, s.ErrorCode, s.ProducerID, s.ProducerEpoch = id, errTxnID, -1, -1
			out.TransactionStates = append(out.TransactionStates, s)
		}
	})
}

// ListTransactions lists only the transactional ids the principal may
// describe.
func ListTransactions(c *Client, _ kmsg.Request) Verdict {
	return ForwardPatched(func(resp kmsg.Response) {
		out := resp.(*kmsg.ListTransactionsResponse)
		out.TransactionStates, _ = split(out.TransactionStates, func(s *kmsg.ListTransactionsResponseTransactionState) bool {
			return c.Check.Visible(authz.ResourceTransactionalID, s.TransactionalID, authz.OpDescribe)
		})
	})
}
