package enforce

import (
	"math"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
)

// Metadata and the other APIs that describe topics and the cluster. A
// listing of every topic silently leaves out those the principal cannot
// describe; a topic asked for by name gets 29 whether or not it exists, so
// a denial reveals nothing.

// authorizedOps are the operations Kafka reports in an "authorized
// operations" bit field, per resource type (AclEntry.supportedOperations).
var authorizedOps = map[authz.ResourceType][]authz.Operation{
	authz.ResourceTopic:           {authz.OpRead, authz.OpWrite, authz.OpCreate, authz.OpDescribe, authz.OpDelete, authz.OpAlter, authz.OpDescribeConfigs, authz.OpAlterConfigs},
	authz.ResourceGroup:           {authz.OpRead, authz.OpDescribe, authz.OpDelete, authz.OpDescribeConfigs, authz.OpAlterConfigs},
	authz.ResourceCluster:         {authz.OpCreate, authz.OpClusterAction, authz.OpDescribeConfigs, authz.OpAlterConfigs, authz.OpIdempotentWrite, authz.OpAlter, authz.OpDescribe},
	authz.ResourceTransactionalID: {authz.OpDescribe, authz.OpWrite},
}

// notRequested is the authorized-operations value of a response that did
// not ask for them.
const notRequested = math.MinInt32

// authorizedOperations is the principal's own bit field for a resource:
// bit n is set when operation n is allowed. The upstream's answer would
// describe the proxy's identity instead.
func authorizedOperations(c Checker, rt authz.ResourceType, name string) int32 {
	var bits int32
	for _, op := range authorizedOps[rt] {
		if c.Visible(rt, name, op) {
			bits |= 1 << op
		}
	}
	return bits
}

// Metadata needs Describe on each topic, and Create (on the cluster or the
// topic) for a topic the broker may create automatically. As on a broker,
// a request that names any topic by id (v12+) describes its ids only: a
// name beside an id is ignored.
func Metadata(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.MetadataRequest)
	clusterOps := r.Version >= 8 && r.Version <= 10 && r.IncludeClusterAuthorizedOperations
	topicOps := r.Version >= 8 && r.IncludeTopicAuthorizedOperations
	fixOps := func(out *kmsg.MetadataResponse) { fixMetadataOps(c.Check, out, clusterOps, topicOps) }
	if r.Topics == nil || r.Version == 0 && len(r.Topics) == 0 {
		return ForwardPatched(func(resp kmsg.Response) {
			out := resp.(*kmsg.MetadataResponse)
			out.Topics = filterMetadataTopics(c.Check, out.Topics)
			fixOps(out)
		})
	}
	if slices.ContainsFunc(r.Topics, func(t kmsg.MetadataRequestTopic) bool { return t.TopicID != ([16]byte{}) }) {
		return metadataByID(c, r, fixOps)
	}
	kept, denied := split(r.Topics, func(t *kmsg.MetadataRequestTopic) bool {
		return t.Topic != nil && c.Check.Authorize(authz.ResourceTopic, *t.Topic, authz.OpDescribe)
	})
	// Automatic creation needs Create; without it the broker must not
	// create the topic, and a missing topic is reported as 29.
	var noCreate map[string]bool
	autoCreate := r.Version < 4 || r.AllowAutoTopicCreation
	if autoCreate && !c.Check.Visible(authz.ResourceCluster, authz.ClusterName, authz.OpCreate) {
		for _, t := range kept {
			if !c.Check.Visible(authz.ResourceTopic, *t.Topic, authz.OpCreate) {
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
			kept, more = split(kept, func(t *kmsg.MetadataRequestTopic) bool { return !noCreate[*t.Topic] })
			denied = append(denied, more...)
			noCreate = nil
		} else {
			r.AllowAutoTopicCreation = false
		}
		edited = true
	}
	if !edited && !clusterOps && !topicOps {
		return Forward()
	}
	r.Topics = kept
	reported := map[string]bool{} // the broker answers each name once
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.MetadataResponse)
		for i := range out.Topics {
			t := &out.Topics[i]
			if t.Topic != nil && noCreate[*t.Topic] && t.ErrorCode == errUnknown {
				t.ErrorCode = errTopic
			}
		}
		for _, t := range denied {
			name := ""
			if t.Topic != nil {
				name = *t.Topic
			}
			if reported[name] {
				continue
			}
			reported[name] = true
			rt := kmsg.NewMetadataResponseTopic()
			rt.ErrorCode, rt.Topic, rt.AuthorizedOperations = errTopic, t.Topic, notRequested
			out.Topics = append(out.Topics, rt)
		}
		fixOps(out)
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
	if edited {
		return ForwardEdited(merge)
	}
	return ForwardPatched(merge)
}

// metadataByID is Metadata for a request naming topics by id. The broker
// then resolves the ids and ignores every name, including the entries
// that carry only a name; the proxy authorizes the topics of the ids and
// leaves the other entries out, so that a request whose ids are all
// denied cannot turn into one by name. Denied and unknown ids are
// answered with the id and no name (ids are not secret, names are).
func metadataByID(c *Client, r *kmsg.MetadataRequest, fixOps func(*kmsg.MetadataResponse)) Verdict {
	var kept []kmsg.MetadataRequestTopic
	codes := map[[16]byte]int16{} // the denied ids, once each
	var order [][16]byte
	for _, t := range r.Topics {
		if t.TopicID == ([16]byte{}) {
			continue
		}
		code := c.topicCode("", t.TopicID, authz.OpDescribe)
		if code == 0 {
			t.Topic = nil
			kept = append(kept, t)
			continue
		}
		if _, dup := codes[t.TopicID]; !dup {
			codes[t.TopicID] = code
			order = append(order, t.TopicID)
		}
	}
	r.Topics = kept
	if kept == nil {
		r.Topics = []kmsg.MetadataRequestTopic{} // no topics, not all of them
	}
	r.AllowAutoTopicCreation = false // ids name existing topics only
	return ForwardEdited(func(resp kmsg.Response) {
		out := resp.(*kmsg.MetadataResponse)
		for _, id := range order {
			rt := kmsg.NewMetadataResponseTopic()
			rt.ErrorCode, rt.TopicID, rt.AuthorizedOperations = codes[id], id, notRequested
			out.Topics = append(out.Topics, rt)
		}
		fixOps(out)
	})
}

// filterMetadataTopics keeps the topics the principal may describe.
func filterMetadataTopics(c Checker, topics []kmsg.MetadataResponseTopic) []kmsg.MetadataResponseTopic {
	kept, _ := split(topics, func(t *kmsg.MetadataResponseTopic) bool {
		return t.Topic != nil && c.Visible(authz.ResourceTopic, *t.Topic, authz.OpDescribe)
	})
	return kept
}

// fixMetadataOps replaces the authorized operations the upstream computed
// for the proxy's identity with the principal's own. As on a broker, the
// cluster's are 0 without Describe on the cluster.
func fixMetadataOps(c Checker, out *kmsg.MetadataResponse, cluster, topics bool) {
	if cluster {
		out.AuthorizedOperations = clusterOperations(c)
	}
	if topics {
		for i := range out.Topics {
			t := &out.Topics[i]
			if t.ErrorCode == 0 && t.Topic != nil {
				t.AuthorizedOperations = authorizedOperations(c, authz.ResourceTopic, *t.Topic)
			}
		}
	}
}

// clusterOperations is the cluster's authorized-operations field: 0
// without Describe on the cluster, as a broker answers.
func clusterOperations(c Checker) int32 {
	if !c.Visible(authz.ResourceCluster, authz.ClusterName, authz.OpDescribe) {
		return 0
	}
	return authorizedOperations(c, authz.ResourceCluster, authz.ClusterName)
}

// DescribeTopicPartitions works like Metadata: a denied named topic gets
// 29, and a request naming no topic asks for every topic and is filtered.
// A broker pages through topics with a cursor after it has filtered them
// by Describe, so that a cursor only ever names a topic the caller may
// describe; behind the proxy it would page through every topic. The proxy
// therefore sends the topics the principal may describe, by name, and
// the broker pages through those.
func DescribeTopicPartitions(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.DescribeTopicPartitionsRequest)
	if len(r.Topics) == 0 {
		return describeAllTopicPartitions(c, r)
	}
	// As on a broker, names before the cursor's are left out, and each
	// name counts once.
	after := ""
	if r.Cursor != nil {
		after = r.Cursor.Topic
	}
	seen := map[string]bool{}
	var kept []kmsg.DescribeTopicPartitionsRequestTopic
	var denied []string
	for _, t := range r.Topics {
		if t.Topic < after || seen[t.Topic] {
			continue
		}
		seen[t.Topic] = true
		if c.Check.Authorize(authz.ResourceTopic, t.Topic, authz.OpDescribe) {
			kept = append(kept, t)
		} else {
			denied = append(denied, t.Topic)
		}
	}
	edited := len(kept) != len(r.Topics)
	r.Topics = kept
	if r.Cursor != nil && slices.Contains(denied, r.Cursor.Topic) {
		// The broker wants the cursor's topic in the list; without it,
		// the kept names (all after the cursor's) ask for the same.
		r.Cursor, edited = nil, true
	}
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.DescribeTopicPartitionsResponse)
		fixTopicPartitionsOps(c.Check, out)
		for _, name := range denied {
			rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
			rt.ErrorCode, rt.Topic, rt.AuthorizedOperations = errTopic, strp(name), notRequested
			out.Topics = append(out.Topics, rt)
		}
	}
	if len(kept) == 0 {
		return answer(req, merge)
	}
	return forwardWith(edited, merge)
}

// describeAllTopicPartitions is DescribeTopicPartitions for every topic:
// the topics the principal may describe, from the cursor's on, are named
// in the request.
func describeAllTopicPartitions(c *Client, r *kmsg.DescribeTopicPartitionsRequest) Verdict {
	all, err := c.Topics.AllTopics()
	if err != nil {
		// Without the list, the broker pages through every topic: filter
		// its answer, and end the listing where a cursor would name a
		// topic the principal may not describe.
		return ForwardPatched(func(resp kmsg.Response) {
			out := resp.(*kmsg.DescribeTopicPartitionsResponse)
			out.Topics, _ = split(out.Topics, func(t *kmsg.DescribeTopicPartitionsResponseTopic) bool {
				return t.Topic != nil && c.Check.Visible(authz.ResourceTopic, *t.Topic, authz.OpDescribe)
			})
			if n := out.NextCursor; n != nil && !c.Check.Visible(authz.ResourceTopic, n.Topic, authz.OpDescribe) {
				out.NextCursor = nil
			}
			fixTopicPartitionsOps(c.Check, out)
		})
	}
	after := ""
	if r.Cursor != nil {
		after = r.Cursor.Topic
	}
	slices.Sort(all)
	var names []kmsg.DescribeTopicPartitionsRequestTopic
	for _, name := range slices.Compact(all) {
		if name >= after && c.Check.Visible(authz.ResourceTopic, name, authz.OpDescribe) {
			t := kmsg.NewDescribeTopicPartitionsRequestTopic()
			t.Topic = name
			names = append(names, t)
		}
	}
	if len(names) == 0 {
		return answer(r, nil)
	}
	if r.Cursor != nil && names[0].Topic != r.Cursor.Topic {
		r.Cursor = nil // its topic is gone or not describable: start at the next
	}
	r.Topics = names
	return ForwardEdited(func(resp kmsg.Response) {
		out := resp.(*kmsg.DescribeTopicPartitionsResponse)
		// Asked for every topic, a broker leaves out those it cannot
		// describe (one deleted since the list was read).
		out.Topics, _ = split(out.Topics, func(t *kmsg.DescribeTopicPartitionsResponseTopic) bool {
			return t.ErrorCode != errUnknown && t.ErrorCode != kerr.InvalidTopicException.Code
		})
		fixTopicPartitionsOps(c.Check, out)
	})
}

// fixTopicPartitionsOps sets each described topic's authorized operations
// to the principal's.
func fixTopicPartitionsOps(c Checker, out *kmsg.DescribeTopicPartitionsResponse) {
	for i := range out.Topics {
		t := &out.Topics[i]
		if t.ErrorCode == 0 && t.Topic != nil {
			t.AuthorizedOperations = authorizedOperations(c, authz.ResourceTopic, *t.Topic)
		}
	}
}

// DescribeCluster needs nothing, but the cluster's authorized operations
// are the principal's, and, as on a broker, empty (0) without Describe on
// the cluster.
func DescribeCluster(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.DescribeClusterRequest)
	if !r.IncludeClusterAuthorizedOperations {
		return Forward()
	}
	return ForwardPatched(func(resp kmsg.Response) {
		resp.(*kmsg.DescribeClusterResponse).ClusterAuthorizedOperations = clusterOperations(c.Check)
	})
}
