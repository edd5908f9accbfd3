package authz

import (
	"math"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Metadata and the other APIs that describe topics and the cluster. A
// listing of every topic silently leaves out those the principal cannot
// describe; a topic asked for by name gets 29 whether or not it exists, so
// a denial reveals nothing.

// authorizedOps are the operations Kafka reports in an "authorized
// operations" bit field, per resource type (AclEntry.supportedOperations).
var authorizedOps = map[ResourceType][]Operation{
	ResourceTopic:           {OpRead, OpWrite, OpCreate, OpDescribe, OpDelete, OpAlter, OpDescribeConfigs, OpAlterConfigs},
	ResourceGroup:           {OpRead, OpDescribe, OpDelete, OpDescribeConfigs, OpAlterConfigs},
	ResourceCluster:         {OpCreate, OpClusterAction, OpDescribeConfigs, OpAlterConfigs, OpIdempotentWrite, OpAlter, OpDescribe},
	ResourceTransactionalID: {OpDescribe, OpWrite},
}

// notRequested is the authorized-operations value of a response that did
// not ask for them.
const notRequested = math.MinInt32

// authorizedOperations is the principal's own bit field for a resource:
// bit n is set when operation n is allowed. The upstream's answer would
// describe the proxy's identity instead.
func authorizedOperations(c Checker, rt ResourceType, name string) int32 {
	var bits int32
	for _, op := range authorizedOps[rt] {
		if c.Filter(rt, name, op) {
			bits |= 1 << op
		}
	}
	return bits
}

// checkMetadata needs Describe on each topic, and Create (on the cluster
// or the topic) for a topic the broker may create automatically.
func checkMetadata(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.MetadataRequest)
	clusterOps := r.Version >= 8 && r.Version <= 10 && r.IncludeClusterAuthorizedOperations
	topicOps := r.Version >= 8 && r.IncludeTopicAuthorizedOperations
	if r.Topics == nil || r.Version == 0 && len(r.Topics) == 0 {
		return Verdict{Patch: func(resp kmsg.Response) {
			out := resp.(*kmsg.MetadataResponse)
			out.Topics = filterMetadataTopics(c.Check, out.Topics)
			fixMetadataOps(c.Check, out, clusterOps, topicOps)
		}}
	}
	kept, denied := split(r.Topics, func(t *kmsg.MetadataRequestTopic) bool {
		name := ""
		if t.Topic != nil {
			name = *t.Topic
		}
		n, ok := c.topicName(name, t.TopicID)
		return ok && c.Check.Authorize(ResourceTopic, n, OpDescribe)
	})
	// Automatic creation needs Create; without it the broker must not
	// create the topic, and a missing topic is reported as 29.
	var noCreate map[string]bool
	autoCreate := r.Version < 4 || r.AllowAutoTopicCreation
	if autoCreate && !c.Check.Filter(ResourceCluster, ClusterName, OpCreate) {
		for _, t := range kept {
			if t.Topic != nil && !c.Check.Filter(ResourceTopic, *t.Topic, OpCreate) {
				if noCreate == nil {
					noCreate = map[string]bool{}
				}
				noCreate[*t.Topic] = true
			}
		}
	}
	edited := len(denied) > 0
	if noCreate != nil {
		if r.Version < 4 {
			// Versions before 4 cannot ask for no creation: fail closed.
			var more []kmsg.MetadataRequestTopic
			kept, more = split(kept, func(t *kmsg.MetadataRequestTopic) bool { return t.Topic == nil || !noCreate[*t.Topic] })
			denied = append(denied, more...)
			noCreate = nil
		} else {
			r.AllowAutoTopicCreation = false
		}
		edited = true
	}
	if !edited && !clusterOps && !topicOps {
		return Verdict{}
	}
	r.Topics = kept
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.MetadataResponse)
		for i := range out.Topics {
			t := &out.Topics[i]
			if t.Topic != nil && noCreate[*t.Topic] && t.ErrorCode == errUnknown {
				t.ErrorCode = errTopic
			}
		}
		for _, t := range denied {
			rt := kmsg.NewMetadataResponseTopic()
			rt.ErrorCode = errTopic
			rt.Topic = t.Topic
			if t.Topic == nil {
				// Asked for by id: ids are not secret, names are.
				rt.TopicID = t.TopicID
				if _, ok := c.topicName("", t.TopicID); !ok {
					rt.ErrorCode = errUnknownT
				}
			}
			rt.AuthorizedOperations = notRequested
			out.Topics = append(out.Topics, rt)
		}
		fixMetadataOps(c.Check, out, clusterOps, topicOps)
	}
	// With every topic denied the request still goes upstream, asking for
	// no topic, so that the answer lists the brokers; but in version 0 an
	// empty list means every topic.
	if len(kept) == 0 && r.Version == 0 {
		return answer(req, func(resp kmsg.Response) {
			out := resp.(*kmsg.MetadataResponse)
			out.ControllerID = -1
			merge(resp)
		})
	}
	return Verdict{Edited: edited, Patch: merge}
}

// filterMetadataTopics keeps the topics the principal may describe.
func filterMetadataTopics(c Checker, topics []kmsg.MetadataResponseTopic) []kmsg.MetadataResponseTopic {
	kept, _ := split(topics, func(t *kmsg.MetadataResponseTopic) bool {
		return t.Topic != nil && c.Filter(ResourceTopic, *t.Topic, OpDescribe)
	})
	return kept
}

// fixMetadataOps replaces the authorized operations the upstream computed
// for the proxy's identity with the principal's own.
func fixMetadataOps(c Checker, out *kmsg.MetadataResponse, cluster, topics bool) {
	if cluster {
		out.AuthorizedOperations = authorizedOperations(c, ResourceCluster, ClusterName)
	}
	if topics {
		for i := range out.Topics {
			t := &out.Topics[i]
			if t.ErrorCode == 0 && t.Topic != nil {
				t.AuthorizedOperations = authorizedOperations(c, ResourceTopic, *t.Topic)
			}
		}
	}
}

// checkDescribeTopicPartitions works like Metadata: an empty list asks for
// every topic and is filtered; a named denied topic gets 29.
func checkDescribeTopicPartitions(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.DescribeTopicPartitionsRequest)
	fixOps := func(out *kmsg.DescribeTopicPartitionsResponse) {
		for i := range out.Topics {
			t := &out.Topics[i]
			if t.ErrorCode == 0 && t.Topic != nil {
				t.AuthorizedOperations = authorizedOperations(c.Check, ResourceTopic, *t.Topic)
			}
		}
	}
	if len(r.Topics) == 0 {
		return Verdict{Patch: func(resp kmsg.Response) {
			out := resp.(*kmsg.DescribeTopicPartitionsResponse)
			out.Topics, _ = split(out.Topics, func(t *kmsg.DescribeTopicPartitionsResponseTopic) bool {
				return t.Topic != nil && c.Check.Filter(ResourceTopic, *t.Topic, OpDescribe)
			})
			fixOps(out)
		}}
	}
	kept, denied := split(r.Topics, func(t *kmsg.DescribeTopicPartitionsRequestTopic) bool {
		return c.Check.Authorize(ResourceTopic, t.Topic, OpDescribe)
	})
	r.Topics = kept
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.DescribeTopicPartitionsResponse)
		fixOps(out)
		for _, t := range denied {
			rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
			rt.ErrorCode, rt.Topic, rt.AuthorizedOperations = errTopic, strp(t.Topic), notRequested
			out.Topics = append(out.Topics, rt)
		}
	}
	return patchedVerdict(req, len(denied) > 0, len(kept) > 0, merge)
}

// checkDescribeCluster needs nothing, but the cluster's authorized
// operations are the principal's, and, as on a broker, empty (0) without
// Describe on the cluster.
func checkDescribeCluster(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.DescribeClusterRequest)
	if !r.IncludeClusterAuthorizedOperations {
		return Verdict{}
	}
	return Verdict{Patch: func(resp kmsg.Response) {
		out := resp.(*kmsg.DescribeClusterResponse)
		out.ClusterAuthorizedOperations = 0
		if c.Check.Filter(ResourceCluster, ClusterName, OpDescribe) {
			out.ClusterAuthorizedOperations = authorizedOperations(c.Check, ResourceCluster, ClusterName)
		}
	}}
}
