package enforce

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
)

// Consumer groups: membership needs Read on the group, describing needs
// Describe, and offsets need the group and then each topic.

// groupGate is the rule of the membership APIs: Read on the group, else
// GROUP_AUTHORIZATION_FAILED for the whole request.
func groupGate(c *Client, req kmsg.Request, group string) Verdict {
	if c.Check.Authorize(authz.ResourceGroup, group, authz.OpRead) {
		return Forward()
	}
	return answer(req, func(resp kmsg.Response) { setErrorCode(resp, errGroup) })
}

// JoinGroup needs Read on the group.
func JoinGroup(c *Client, req kmsg.Request) Verdict {
	return groupGate(c, req, req.(*kmsg.JoinGroupRequest).Group)
}

// SyncGroup needs Read on the group.
func SyncGroup(c *Client, req kmsg.Request) Verdict {
	return groupGate(c, req, req.(*kmsg.SyncGroupRequest).Group)
}

// Heartbeat needs Read on the group.
func Heartbeat(c *Client, req kmsg.Request) Verdict {
	return groupGate(c, req, req.(*kmsg.HeartbeatRequest).Group)
}

// LeaveGroup needs Read on the group.
func LeaveGroup(c *Client, req kmsg.Request) Verdict {
	return groupGate(c, req, req.(*kmsg.LeaveGroupRequest).Group)
}

// MsgRegexSubscription is the error message of a ConsumerGroupHeartbeat
// that subscribes by regular expression.
const MsgRegexSubscription = "kafka-auth-proxy does not support subscriptions by a regular expression that the broker resolves (SubscribedTopicRegex): subscribe to topic names, or to a pattern the client resolves itself"

// ConsumerGroupHeartbeat (KIP-848) needs Read on the group and, as on a
// broker, Describe on every topic the member subscribes to by name. A
// subscription by regular expression is refused with
// INVALID_REGULAR_EXPRESSION: the broker would resolve it against every
// topic the proxy's own identity can see, and assign the member topics
// that it may not describe.
func ConsumerGroupHeartbeat(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.ConsumerGroupHeartbeatRequest)
	var code int16
	var msg *string
	switch {
	case !c.Check.Authorize(authz.ResourceGroup, r.Group, authz.OpRead):
		code = errGroup
	case r.SubscribedTopicRegex != nil && *r.SubscribedTopicRegex != "":
		code, msg = kerr.InvalidRegularExpression.Code, strp(MsgRegexSubscription)
	default:
		for _, t := range r.SubscribedTopicNames {
			if !c.Check.Authorize(authz.ResourceTopic, t, authz.OpDescribe) {
				code = errTopic
				break
			}
		}
	}
	if code == 0 {
		return Forward()
	}
	return answer(req, func(resp kmsg.Response) {
		out := resp.(*kmsg.ConsumerGroupHeartbeatResponse)
		out.ErrorCode, out.ErrorMessage = code, msg
	})
}

// OffsetCommit needs Read on the group (else every partition gets
// 30), then Read on each topic.
func OffsetCommit(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.OffsetCommitRequest)
	if !c.Check.Authorize(authz.ResourceGroup, r.Group, authz.OpRead) {
		return answer(req, func(resp kmsg.Response) {
			mergeOffsetCommit(resp.(*kmsg.OffsetCommitResponse), r.Topics, nil, errGroup)
		})
	}
	codes, kept, denied := splitTopics(c, r.Topics, authz.OpRead, func(t *kmsg.OffsetCommitRequestTopic) (string, [16]byte) { return t.Topic, t.TopicID })
	r.Topics = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		mergeOffsetCommit(resp.(*kmsg.OffsetCommitResponse), denied, codes, errTopic)
	})
}

func mergeOffsetCommit(out *kmsg.OffsetCommitResponse, topics []kmsg.OffsetCommitRequestTopic, codes map[string]int16, code int16) {
	for _, t := range topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		c := code
		if x, ok := codes[topicKey(t.Topic, t.TopicID)]; ok {
			c = x
		}
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, c
			rt.Partitions = append(rt.Partitions, rp)
		}
		out.Topics = append(out.Topics, rt)
	}
}

// OffsetFetch needs Describe on each group and on each topic. A
// request for all of a group's topics is filtered.
func OffsetFetch(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.OffsetFetchRequest)
	if r.Version < 8 {
		return offsetFetchSingle(c, r)
	}
	var filterAll map[string]bool                                   // groups asking for all their topics
	var deniedTopics map[string][]kmsg.OffsetFetchRequestGroupTopic // by group
	kept, denied := split(r.Groups, func(g *kmsg.OffsetFetchRequestGroup) bool {
		if !c.Check.Authorize(authz.ResourceGroup, g.Group, authz.OpDescribe) {
			return false
		}
		if g.Topics == nil {
			if filterAll == nil {
				filterAll = map[string]bool{}
			}
			filterAll[g.Group] = true
			return true
		}
		var d []kmsg.OffsetFetchRequestGroupTopic
		g.Topics, d = split(g.Topics, func(t *kmsg.OffsetFetchRequestGroupTopic) bool {
			return c.topicCode(t.Topic, t.TopicID, authz.OpDescribe) == 0
		})
		if len(d) > 0 {
			if deniedTopics == nil {
				deniedTopics = map[string][]kmsg.OffsetFetchRequestGroupTopic{}
			}
			deniedTopics[g.Group] = d
		}
		return true
	})
	if len(denied) == 0 && deniedTopics == nil && filterAll == nil {
		return Forward()
	}
	r.Groups = kept
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.OffsetFetchResponse)
		// A group whose every topic was denied is added if the broker
		// left it out.
		for group := range deniedTopics {
			if !slices.ContainsFunc(out.Groups, func(g kmsg.OffsetFetchResponseGroup) bool { return g.Group == group }) {
				rg := kmsg.NewOffsetFetchResponseGroup()
				rg.Group = group
				out.Groups = append(out.Groups, rg)
			}
		}
		for i := range out.Groups {
			g := &out.Groups[i]
			if filterAll[g.Group] {
				g.Topics, _ = split(g.Topics, func(t *kmsg.OffsetFetchResponseGroupTopic) bool {
					n, ok := c.topicName(t.Topic, t.TopicID)
					return ok && c.Check.Visible(authz.ResourceTopic, n, authz.OpDescribe)
				})
			}
			for _, t := range deniedTopics[g.Group] {
				rt := kmsg.NewOffsetFetchResponseGroupTopic()
				rt.Topic, rt.TopicID = t.Topic, t.TopicID
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					rp.Partition, rp.ErrorCode, rp.Offset, rp.LeaderEpoch = p, errTopic, -1, -1
					rt.Partitions = append(rt.Partitions, rp)
				}
				g.Topics = append(g.Topics, rt)
			}
		}
		for _, g := range denied {
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group, rg.ErrorCode = g.Group, errGroup
			out.Groups = append(out.Groups, rg)
		}
	}
	if len(kept) == 0 {
		return answer(req, merge)
	}
	return forwardWith(len(denied) > 0 || deniedTopics != nil, merge)
}

// offsetFetchSingle is OffsetFetch before version 8: one group.
func offsetFetchSingle(c *Client, r *kmsg.OffsetFetchRequest) Verdict {
	if !c.Check.Authorize(authz.ResourceGroup, r.Group, authz.OpDescribe) {
		return answer(r, func(resp kmsg.Response) {
			out := resp.(*kmsg.OffsetFetchResponse)
			out.ErrorCode = errGroup
			// Before version 2 the error travels in each partition.
			for _, t := range r.Topics {
				rt := kmsg.NewOffsetFetchResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseTopicPartition()
					rp.Partition, rp.ErrorCode, rp.Offset, rp.LeaderEpoch = p, errGroup, -1, -1
					rt.Partitions = append(rt.Partitions, rp)
				}
				out.Topics = append(out.Topics, rt)
			}
		})
	}
	if r.Topics == nil {
		return ForwardPatched(func(resp kmsg.Response) {
			out := resp.(*kmsg.OffsetFetchResponse)
			out.Topics, _ = split(out.Topics, func(t *kmsg.OffsetFetchResponseTopic) bool {
				return c.Check.Visible(authz.ResourceTopic, t.Topic, authz.OpDescribe)
			})
		})
	}
	kept, denied := split(r.Topics, func(t *kmsg.OffsetFetchRequestTopic) bool {
		return c.Check.Authorize(authz.ResourceTopic, t.Topic, authz.OpDescribe)
	})
	if len(denied) == 0 {
		return Forward()
	}
	r.Topics = kept
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.OffsetFetchResponse)
		for _, t := range denied {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition, rp.ErrorCode, rp.Offset, rp.LeaderEpoch = p, errTopic, -1, -1
				rt.Partitions = append(rt.Partitions, rp)
			}
			out.Topics = append(out.Topics, rt)
		}
	}
	if len(kept) == 0 {
		return answer(r, merge)
	}
	return ForwardEdited(merge)
}

// coordinatorResource is what a FindCoordinator key type names, and the
// code of a denial.
var coordinatorResource = map[int8]struct {
	rt   authz.ResourceType
	code int16
}{
	0: {authz.ResourceGroup, errGroup},
	1: {authz.ResourceTransactionalID, errTxnID},
}

// FindCoordinator needs Describe on the group or transactional id.
func FindCoordinator(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.FindCoordinatorRequest)
	res, known := coordinatorResource[r.CoordinatorType]
	code := res.code
	if !known {
		code = kerr.InvalidRequest.Code // share groups are not supported
	}
	allowed := func(key string) bool { return known && c.Check.Authorize(res.rt, key, authz.OpDescribe) }
	if r.Version < 4 {
		if allowed(r.CoordinatorKey) {
			return Forward()
		}
		return answer(req, func(resp kmsg.Response) {
			out := resp.(*kmsg.FindCoordinatorResponse)
			out.ErrorCode, out.NodeID, out.Port = code, -1, -1
		})
	}
	kept, denied := split(r.CoordinatorKeys, func(k *string) bool { return allowed(*k) })
	r.CoordinatorKeys = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.FindCoordinatorResponse)
		for _, k := range denied {
			rc := kmsg.NewFindCoordinatorResponseCoordinator()
			rc.Key, rc.NodeID, rc.Port, rc.ErrorCode = k, -1, -1, code
			out.Coordinators = append(out.Coordinators, rc)
		}
	})
}

// DescribeGroups needs Describe on each group.
func DescribeGroups(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.DescribeGroupsRequest)
	kept, denied := split(r.Groups, func(g *string) bool { return c.Check.Authorize(authz.ResourceGroup, *g, authz.OpDescribe) })
	r.Groups = kept
	ops := r.Version >= 3 && r.IncludeAuthorizedOperations
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.DescribeGroupsResponse)
		if ops {
			for i := range out.Groups {
				if g := &out.Groups[i]; g.ErrorCode == 0 {
					g.AuthorizedOperations = authorizedOperations(c.Check, authz.ResourceGroup, g.Group)
				}
			}
		}
		for _, g := range denied {
			rg := kmsg.NewDescribeGroupsResponseGroup()
			rg.Group, rg.ErrorCode, rg.AuthorizedOperations = g, errGroup, notRequested
			out.Groups = append(out.Groups, rg)
		}
	}
	if !ops {
		return partialVerdict(req, len(denied) > 0, len(kept) > 0, merge)
	}
	return patchedVerdict(req, len(denied) > 0, len(kept) > 0, merge)
}

// ConsumerGroupDescribe needs Describe on each group (KIP-848). As on a
// broker, a group whose members' current or target assignments name a
// topic the principal cannot describe is answered TOPIC_AUTHORIZATION_FAILED
// without its members: the broker assigned them on behalf of other
// principals.
func ConsumerGroupDescribe(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.ConsumerGroupDescribeRequest)
	kept, denied := split(r.Groups, func(g *string) bool { return c.Check.Authorize(authz.ResourceGroup, *g, authz.OpDescribe) })
	r.Groups = kept
	ops := r.IncludeAuthorizedOperations
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.ConsumerGroupDescribeResponse)
		for i := range out.Groups {
			g := &out.Groups[i]
			if !c.assignmentsVisible(g) {
				hidden := kmsg.NewConsumerGroupDescribeResponseGroup()
				hidden.Group, hidden.ErrorCode = g.Group, errTopic
				hidden.ErrorMessage = strp("The group has described topic(s) that the client is not authorized to describe.")
				hidden.Members = []kmsg.ConsumerGroupDescribeResponseGroupMember{}
				*g = hidden
				continue
			}
			if ops && g.ErrorCode == 0 {
				g.AuthorizedOperations = authorizedOperations(c.Check, authz.ResourceGroup, g.Group)
			}
		}
		for _, g := range denied {
			rg := kmsg.NewConsumerGroupDescribeResponseGroup()
			rg.Group, rg.ErrorCode, rg.AuthorizedOperations = g, errGroup, notRequested
			out.Groups = append(out.Groups, rg)
		}
	}
	return patchedVerdict(req, len(denied) > 0, len(kept) > 0, merge)
}

// assignmentsVisible reports whether the principal may describe every
// topic of the group's members' current and target assignments.
func (c *Client) assignmentsVisible(g *kmsg.ConsumerGroupDescribeResponseGroup) bool {
	for i := range g.Members {
		m := &g.Members[i]
		for _, a := range [...]*kmsg.Assignment{&m.Assignment, &m.TargetAssignment} {
			for _, tp := range a.TopicPartitions {
				name, ok := tp.Topic, true
				if name == "" {
					name, ok = c.topicName("", tp.TopicID)
				}
				if !ok || !c.Check.Visible(authz.ResourceTopic, name, authz.OpDescribe) {
					return false
				}
			}
		}
	}
	return true
}

// ListGroups lists every group to a principal that may describe the
// cluster, and otherwise only the groups it may describe. It never fails.
func ListGroups(c *Client, _ kmsg.Request) Verdict {
	if c.Check.Visible(authz.ResourceCluster, authz.ClusterName, authz.OpDescribe) {
		return Forward()
	}
	return ForwardPatched(func(resp kmsg.Response) {
		out := resp.(*kmsg.ListGroupsResponse)
		out.Groups, _ = split(out.Groups, func(g *kmsg.ListGroupsResponseGroup) bool {
			return c.Check.Visible(authz.ResourceGroup, g.Group, authz.OpDescribe)
		})
	})
}

// DeleteGroups needs Delete on each group.
func DeleteGroups(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.DeleteGroupsRequest)
	kept, denied := split(r.Groups, func(g *string) bool { return c.Check.Authorize(authz.ResourceGroup, *g, authz.OpDelete) })
	r.Groups = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.DeleteGroupsResponse)
		for _, g := range denied {
			rg := kmsg.NewDeleteGroupsResponseGroup()
			rg.Group, rg.ErrorCode = g, errGroup
			out.Groups = append(out.Groups, rg)
		}
	})
}

// OffsetDelete needs Delete on the group, then Read on each topic.
func OffsetDelete(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.OffsetDeleteRequest)
	if !c.Check.Authorize(authz.ResourceGroup, r.Group, authz.OpDelete) {
		return answer(req, func(resp kmsg.Response) { resp.(*kmsg.OffsetDeleteResponse).ErrorCode = errGroup })
	}
	kept, denied := split(r.Topics, func(t *kmsg.OffsetDeleteRequestTopic) bool {
		return c.Check.Authorize(authz.ResourceTopic, t.Topic, authz.OpRead)
	})
	r.Topics = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.OffsetDeleteResponse)
		for _, t := range denied {
			rt := kmsg.NewOffsetDeleteResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetDeleteResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, errTopic
				rt.Partitions = append(rt.Partitions, rp)
			}
			out.Topics = append(out.Topics, rt)
		}
	})
}
