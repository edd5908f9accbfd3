package enforce

import (
	"reflect"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
)

// Administration: topics, configs and the cluster.

// CreateTopics needs Create on the cluster, or else on each topic; a
// reserved topic is refused either way, so that nobody squats the name.
// A created topic's configs are only returned with DescribeConfigs on it.
func CreateTopics(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.CreateTopicsRequest)
	cluster := c.Check.Visible(authz.ResourceCluster, authz.ClusterName, authz.OpCreate)
	kept, denied := split(r.Topics, func(t *kmsg.CreateTopicsRequestTopic) bool {
		if c.Check.Reserved(t.Topic) {
			return c.Check.Authorize(authz.ResourceTopic, t.Topic, authz.OpCreate) // denied, and audited
		}
		return cluster || c.Check.Authorize(authz.ResourceTopic, t.Topic, authz.OpCreate)
	})
	r.Topics = kept
	hideConfigs := false
	for _, t := range kept {
		if !c.Check.Visible(authz.ResourceTopic, t.Topic, authz.OpDescribeConfigs) {
			hideConfigs = true
		}
	}
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.CreateTopicsResponse)
		for i := range out.Topics {
			t := &out.Topics[i]
			if hideConfigs && t.ErrorCode == 0 && !c.Check.Visible(authz.ResourceTopic, t.Topic, authz.OpDescribeConfigs) {
				t.Configs, t.ConfigErrorCode = nil, errTopic
			}
		}
		for _, t := range denied {
			rt := kmsg.NewCreateTopicsResponseTopic()
			rt.Topic, rt.ErrorCode, rt.NumPartitions, rt.ReplicationFactor = t.Topic, errTopic, -1, -1
			rt.ConfigErrorCode = errTopic
			out.Topics = append(out.Topics, rt)
		}
	}
	if !hideConfigs {
		return partialVerdict(req, len(denied) > 0, len(kept) > 0, merge)
	}
	return patchedVerdict(req, len(denied) > 0, len(kept) > 0, merge)
}

// DeleteTopics needs Delete on each topic. A topic named by id that the
// proxy cannot resolve is UNKNOWN_TOPIC_ID; one that may not be deleted
// is 29, named only if the principal may describe it, as a KRaft broker
// answers. An entry with both a name and an id, or neither, is an invalid
// request.
func DeleteTopics(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.DeleteTopicsRequest)
	if r.Version < 6 {
		kept, denied := split(r.TopicNames, func(n *string) bool { return c.Check.Authorize(authz.ResourceTopic, *n, authz.OpDelete) })
		r.TopicNames = kept
		return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
			out := resp.(*kmsg.DeleteTopicsResponse)
			for _, n := range denied {
				rt := kmsg.NewDeleteTopicsResponseTopic()
				rt.Topic, rt.ErrorCode = strp(n), errTopic
				out.Topics = append(out.Topics, rt)
			}
		})
	}
	var answers []kmsg.DeleteTopicsResponseTopic
	deny := func(t *kmsg.DeleteTopicsRequestTopic, name *string, code int16, msg string) {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID, rt.ErrorCode = name, t.TopicID, code
		if msg != "" {
			rt.ErrorMessage = strp(msg)
		}
		answers = append(answers, rt)
	}
	kept, _ := split(r.Topics, func(t *kmsg.DeleteTopicsRequestTopic) bool {
		byName, byID := t.Topic != nil, t.TopicID != ([16]byte{})
		switch {
		case byName && byID:
			deny(t, t.Topic, errInvalid, "You may not specify both topic name and topic id.")
		case !byName && !byID:
			deny(t, nil, errInvalid, "Neither topic name nor id were specified.")
		case byName:
			if c.Check.Authorize(authz.ResourceTopic, *t.Topic, authz.OpDelete) {
				return true
			}
			deny(t, t.Topic, errTopic, "")
		default:
			name, ok := c.topicName("", t.TopicID)
			switch {
			case !ok:
				deny(t, nil, errUnknownT, "")
			case c.Check.Authorize(authz.ResourceTopic, name, authz.OpDelete):
				return true
			case c.Check.Visible(authz.ResourceTopic, name, authz.OpDescribe):
				deny(t, &name, errTopic, "")
			default:
				deny(t, nil, errTopic, "")
			}
		}
		return false
	})
	r.Topics = kept
	return partialVerdict(req, len(answers) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.DeleteTopicsResponse)
		out.Topics = append(out.Topics, answers...)
	})
}

// CreatePartitions needs Alter on each topic.
func CreatePartitions(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.CreatePartitionsRequest)
	kept, denied := split(r.Topics, func(t *kmsg.CreatePartitionsRequestTopic) bool {
		return c.Check.Authorize(authz.ResourceTopic, t.Topic, authz.OpAlter)
	})
	r.Topics = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.CreatePartitionsResponse)
		for _, t := range denied {
			rt := kmsg.NewCreatePartitionsResponseTopic()
			rt.Topic, rt.ErrorCode = t.Topic, errTopic
			out.Topics = append(out.Topics, rt)
		}
	})
}

// configResource maps a config resource type to the ACL resource that
// guards it and the code of a denial.
var configResource = map[kmsg.ConfigResourceType]struct {
	rt      authz.ResourceType
	cluster bool // the resource is the cluster, whatever its name
	code    int16
}{
	kmsg.ConfigResourceTypeTopic:         {authz.ResourceTopic, false, errTopic},
	kmsg.ConfigResourceTypeBroker:        {authz.ResourceCluster, true, errCluster},
	kmsg.ConfigResourceTypeBrokerLogger:  {authz.ResourceCluster, true, errCluster},
	kmsg.ConfigResourceTypeClientMetrics: {authz.ResourceCluster, true, errCluster},
	kmsg.ConfigResourceTypeGroupConfig:   {authz.ResourceGroup, false, errGroup},
}

// configCode is the error for a config resource the principal may not op;
// 0 means allowed. A resource type the proxy does not know is refused as
// an invalid request: the proxy cannot tell what guards it.
func configCode(c *Client, t kmsg.ConfigResourceType, name string, op authz.Operation) int16 {
	res, ok := configResource[t]
	if !ok {
		return kerr.InvalidRequest.Code
	}
	if res.cluster {
		name = authz.ClusterName
	}
	if c.Check.Authorize(res.rt, name, op) {
		return 0
	}
	return res.code
}

// configResult is one resource's answer in the three config APIs.
type configResult struct {
	t    kmsg.ConfigResourceType
	name string
	code int16
	msg  *string
}

// splitConfigs splits the resources of a config request on op.
func splitConfigs[T any](c *Client, items []T, op authz.Operation, at func(*T) (kmsg.ConfigResourceType, string)) (kept []T, denied []configResult) {
	kept, _ = split(items, func(x *T) bool {
		t, name := at(x)
		if code := configCode(c, t, name, op); code != 0 {
			denied = append(denied, configResult{t, name, code, nil})
			return false
		}
		return true
	})
	return kept, denied
}

// Broker configs that name the brokers' addresses, their listeners or
// the principals they trust. Through the proxy a client never learns them
// (DescribeConfigs answers them as sensitive, without a value: they would
// reveal real broker addresses and the proxy's own identity), and never
// changes them (AlterConfigs answers POLICY_VIOLATION: the proxy learns
// the brokers' addresses from their answers, and logs in to them with its
// own credentials).
var protectedBrokerConfigs = map[string]bool{
	"listeners":                           true,
	"advertised.listeners":                true,
	"early.start.listeners":               true,
	"listener.security.protocol.map":      true,
	"inter.broker.listener.name":          true,
	"controller.listener.names":           true,
	"controller.quorum.voters":            true,
	"controller.quorum.bootstrap.servers": true,
	"super.users":                         true,
}

// protectedBrokerConfig reports whether a broker config is protected: one
// listed above, a per-listener setting (listener.name.*), or the address
// of a cluster some plugin connects to (*bootstrap.servers).
func protectedBrokerConfig(name string) bool {
	return protectedBrokerConfigs[name] || strings.HasPrefix(name, "listener.name.") || strings.HasSuffix(name, "bootstrap.servers")
}

// msgProtectedConfig answers a change to a protected broker config.
const msgProtectedConfig = "kafka-auth-proxy does not let clients change the brokers' listener, controller quorum or super user configs; change them on the brokers"

// isBroker reports whether a config resource is a broker (or, with an
// empty name, the cluster-wide broker default).
func isBroker(t kmsg.ConfigResourceType) bool { return t == kmsg.ConfigResourceTypeBroker }

// DescribeConfigs needs DescribeConfigs on each resource. A broker's
// protected configs are answered as sensitive, without a value.
func DescribeConfigs(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.DescribeConfigsRequest)
	var denied []configResult
	r.Resources, denied = splitConfigs(c, r.Resources, authz.OpDescribeConfigs, func(x *kmsg.DescribeConfigsRequestResource) (kmsg.ConfigResourceType, string) {
		return x.ResourceType, x.ResourceName
	})
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.DescribeConfigsResponse)
		for i := range out.Resources {
			if x := &out.Resources[i]; isBroker(x.ResourceType) {
				redactBrokerConfigs(x.Configs)
			}
		}
		for _, d := range denied {
			x := kmsg.NewDescribeConfigsResponseResource()
			x.ResourceType, x.ResourceName, x.ErrorCode = d.t, d.name, d.code
			out.Resources = append(out.Resources, x)
		}
	}
	if !slices.ContainsFunc(r.Resources, func(x kmsg.DescribeConfigsRequestResource) bool { return isBroker(x.ResourceType) }) {
		return partialVerdict(req, len(denied) > 0, len(r.Resources) > 0, merge)
	}
	return patchedVerdict(req, len(denied) > 0, len(r.Resources) > 0, merge)
}

// redactBrokerConfigs hides the values of protected configs, and of their
// synonyms, the way a broker hides a password.
func redactBrokerConfigs(configs []kmsg.DescribeConfigsResponseResourceConfig) {
	for i := range configs {
		cfg := &configs[i]
		if !protectedBrokerConfig(cfg.Name) {
			continue
		}
		cfg.Value, cfg.IsSensitive = nil, true
		for j := range cfg.ConfigSynonyms {
			cfg.ConfigSynonyms[j].Value = nil
		}
	}
}

// AlterConfigs needs AlterConfigs on each resource; a broker's protected
// configs may not be set.
func AlterConfigs(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.AlterConfigsRequest)
	var denied []configResult
	r.Resources, denied = splitConfigs(c, r.Resources, authz.OpAlterConfigs, func(x *kmsg.AlterConfigsRequestResource) (kmsg.ConfigResourceType, string) {
		return x.ResourceType, x.ResourceName
	})
	r.Resources, denied = splitProtected(r.Resources, denied, func(x *kmsg.AlterConfigsRequestResource) (kmsg.ConfigResourceType, string, bool) {
		return x.ResourceType, x.ResourceName, slices.ContainsFunc(x.Configs, func(c kmsg.AlterConfigsRequestResourceConfig) bool { return protectedBrokerConfig(c.Name) })
	})
	return partialVerdict(req, len(denied) > 0, len(r.Resources) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.AlterConfigsResponse)
		for _, d := range denied {
			x := kmsg.NewAlterConfigsResponseResource()
			x.ResourceType, x.ResourceName, x.ErrorCode, x.ErrorMessage = d.t, d.name, d.code, d.msg
			out.Resources = append(out.Resources, x)
		}
	})
}

// IncrementalAlterConfigs needs AlterConfigs on each resource; a broker's
// protected configs may not be changed.
func IncrementalAlterConfigs(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.IncrementalAlterConfigsRequest)
	var denied []configResult
	r.Resources, denied = splitConfigs(c, r.Resources, authz.OpAlterConfigs, func(x *kmsg.IncrementalAlterConfigsRequestResource) (kmsg.ConfigResourceType, string) {
		return x.ResourceType, x.ResourceName
	})
	r.Resources, denied = splitProtected(r.Resources, denied, func(x *kmsg.IncrementalAlterConfigsRequestResource) (kmsg.ConfigResourceType, string, bool) {
		return x.ResourceType, x.ResourceName, slices.ContainsFunc(x.Configs, func(c kmsg.IncrementalAlterConfigsRequestResourceConfig) bool { return protectedBrokerConfig(c.Name) })
	})
	return partialVerdict(req, len(denied) > 0, len(r.Resources) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.IncrementalAlterConfigsResponse)
		for _, d := range denied {
			x := kmsg.NewIncrementalAlterConfigsResponseResource()
			x.ResourceType, x.ResourceName, x.ErrorCode, x.ErrorMessage = d.t, d.name, d.code, d.msg
			out.Resources = append(out.Resources, x)
		}
	})
}

// splitProtected removes the broker resources whose change names a
// protected config, answering them POLICY_VIOLATION.
func splitProtected[T any](items []T, denied []configResult, at func(*T) (kmsg.ConfigResourceType, string, bool)) ([]T, []configResult) {
	kept, _ := split(items, func(x *T) bool {
		t, name, protected := at(x)
		if isBroker(t) && protected {
			denied = append(denied, configResult{t, name, kerr.PolicyViolation.Code, strp(msgProtectedConfig)})
			return false
		}
		return true
	})
	return kept, denied
}

// clusterGate is the rule of an API that needs one operation on the
// cluster: a denial fails the whole request with
// CLUSTER_AUTHORIZATION_FAILED, in the top-level error code and, for the
// responses whose versions lack one, item by item (items).
func clusterGate(c *Client, req kmsg.Request, op authz.Operation, items func(req kmsg.Request, resp kmsg.Response, code int16)) Verdict {
	if c.Check.Authorize(authz.ResourceCluster, authz.ClusterName, op) {
		return Forward()
	}
	return answer(req, func(resp kmsg.Response) {
		setErrorCode(resp, errCluster)
		if items != nil {
			items(req, resp, errCluster)
		}
	})
}

// reservedGate is clusterGate for a request that names topics: naming a
// reserved topic refuses the request whole with TOPIC_AUTHORIZATION_FAILED,
// whatever the cluster permission.
func reservedGate(c *Client, req kmsg.Request, op authz.Operation, topics []string, items func(req kmsg.Request, resp kmsg.Response, code int16)) Verdict {
	for _, t := range topics {
		if c.Check.Reserved(t) {
			c.Check.Authorize(authz.ResourceTopic, t, authz.OpAlter) // denied, and audited
			return answer(req, func(resp kmsg.Response) {
				setErrorCode(resp, errTopic)
				if items != nil {
					items(req, resp, errTopic)
				}
			})
		}
	}
	return clusterGate(c, req, op, items)
}

// ElectLeaders needs Alter on the cluster; a denial is reported per
// partition too (v0 has no top-level error).
func ElectLeaders(c *Client, req kmsg.Request) Verdict {
	var topics []string
	for _, t := range req.(*kmsg.ElectLeadersRequest).Topics {
		topics = append(topics, t.Topic)
	}
	return reservedGate(c, req, authz.OpAlter, topics, func(req kmsg.Request, resp kmsg.Response, code int16) {
		out := resp.(*kmsg.ElectLeadersResponse)
		for _, t := range req.(*kmsg.ElectLeadersRequest).Topics {
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewElectLeadersResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			out.Topics = append(out.Topics, rt)
		}
	})
}

// AlterReplicaLogDirs needs Alter on the cluster; a denial is reported
// per partition.
func AlterReplicaLogDirs(c *Client, req kmsg.Request) Verdict {
	var topics []string
	for _, d := range req.(*kmsg.AlterReplicaLogDirsRequest).Dirs {
		for _, t := range d.Topics {
			topics = append(topics, t.Topic)
		}
	}
	return reservedGate(c, req, authz.OpAlter, topics, func(req kmsg.Request, resp kmsg.Response, code int16) {
		out := resp.(*kmsg.AlterReplicaLogDirsResponse)
		for _, d := range req.(*kmsg.AlterReplicaLogDirsRequest).Dirs {
			for _, t := range d.Topics {
				rt := kmsg.NewAlterReplicaLogDirsResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewAlterReplicaLogDirsResponseTopicPartition()
					rp.Partition, rp.ErrorCode = p, code
					rt.Partitions = append(rt.Partitions, rp)
				}
				out.Topics = append(out.Topics, rt)
			}
		}
	})
}

// AlterClientQuotas needs AlterConfigs on the cluster; a denial is
// reported per entry.
func AlterClientQuotas(c *Client, req kmsg.Request) Verdict {
	return clusterGate(c, req, authz.OpAlterConfigs, func(req kmsg.Request, resp kmsg.Response, code int16) {
		out := resp.(*kmsg.AlterClientQuotasResponse)
		for _, e := range req.(*kmsg.AlterClientQuotasRequest).Entries {
			re := kmsg.NewAlterClientQuotasResponseEntry()
			re.ErrorCode = code
			for _, x := range e.Entity {
				ent := kmsg.NewAlterClientQuotasResponseEntryEntity()
				ent.Type, ent.Name = x.Type, x.Name
				re.Entity = append(re.Entity, ent)
			}
			out.Entries = append(out.Entries, re)
		}
	})
}

// AlterPartitionAssignments needs Alter on the cluster.
func AlterPartitionAssignments(c *Client, req kmsg.Request) Verdict {
	var topics []string
	for _, t := range req.(*kmsg.AlterPartitionAssignmentsRequest).Topics {
		topics = append(topics, t.Topic)
	}
	return reservedGate(c, req, authz.OpAlter, topics, nil)
}

// ListPartitionReassignments needs Describe on the cluster. Reserved
// topics are left out of the request and of the answer.
func ListPartitionReassignments(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.ListPartitionReassignmentsRequest)
	return clusterListing(c, req, authz.OpDescribe, &r.Topics,
		func(t *kmsg.ListPartitionReassignmentsRequestTopic) string { return t.Topic },
		func(resp kmsg.Response, reserved func(string) bool) {
			out := resp.(*kmsg.ListPartitionReassignmentsResponse)
			out.Topics = slices.DeleteFunc(out.Topics, func(t kmsg.ListPartitionReassignmentsResponseTopic) bool { return reserved(t.Topic) })
		})
}

// clusterListing is clusterGate for a listing that names topics: the
// reserved ones are left out of the request's topics (nil: every topic)
// and, by strip, of the answer.
func clusterListing[T any](c *Client, req kmsg.Request, op authz.Operation, topics *[]T, name func(*T) string,
	strip func(resp kmsg.Response, reserved func(string) bool)) Verdict {
	if v := clusterGate(c, req, op, nil); v.action != ActForward {
		return v
	}
	edited := false
	if *topics != nil {
		kept, denied := split(*topics, func(t *T) bool { return !c.Check.Reserved(name(t)) })
		*topics, edited = append([]T{}, kept...), len(denied) > 0
	}
	patch := func(resp kmsg.Response) { strip(resp, c.Check.Reserved) }
	if edited {
		return ForwardEdited(patch)
	}
	return ForwardPatched(patch)
}

// UpdateFeatures needs Alter on the cluster.
func UpdateFeatures(c *Client, req kmsg.Request) Verdict {
	return clusterGate(c, req, authz.OpAlter, nil)
}

// DescribeQuorum needs Describe on the cluster.
func DescribeQuorum(c *Client, req kmsg.Request) Verdict {
	return clusterGate(c, req, authz.OpDescribe, nil)
}

// DescribeLogDirs needs Describe on the cluster. Reserved topics are
// left out of the request and of the answer.
func DescribeLogDirs(c *Client, req kmsg.Request) Verdict {
	r := req.(*kmsg.DescribeLogDirsRequest)
	return clusterListing(c, req, authz.OpDescribe, &r.Topics,
		func(t *kmsg.DescribeLogDirsRequestTopic) string { return t.Topic },
		func(resp kmsg.Response, reserved func(string) bool) {
			out := resp.(*kmsg.DescribeLogDirsResponse)
			for i := range out.Dirs {
				out.Dirs[i].Topics = slices.DeleteFunc(out.Dirs[i].Topics, func(t kmsg.DescribeLogDirsResponseDirTopic) bool { return reserved(t.Topic) })
			}
		})
}

// DescribeClientQuotas needs DescribeConfigs on the cluster.
func DescribeClientQuotas(c *Client, req kmsg.Request) Verdict {
	return clusterGate(c, req, authz.OpDescribeConfigs, nil)
}

// ListConfigResources needs DescribeConfigs on the cluster.
func ListConfigResources(c *Client, req kmsg.Request) Verdict {
	return clusterGate(c, req, authz.OpDescribeConfigs, nil)
}

// The ACL APIs are answered by the proxy from its own ACL store; these
// rules check the cluster permission first, as a broker does.

// DescribeACLs needs Describe on the cluster.
func DescribeACLs(c *Client, req kmsg.Request) Verdict {
	return clusterGate(c, req, authz.OpDescribe, nil)
}

// CreateACLs needs Alter on the cluster; a denial is reported per ACL.
func CreateACLs(c *Client, req kmsg.Request) Verdict {
	return clusterGate(c, req, authz.OpAlter, func(req kmsg.Request, resp kmsg.Response, code int16) {
		out := resp.(*kmsg.CreateACLsResponse)
		for range req.(*kmsg.CreateACLsRequest).Creations {
			x := kmsg.NewCreateACLsResponseResult()
			x.ErrorCode = code
			out.Results = append(out.Results, x)
		}
	})
}

// DeleteACLs needs Alter on the cluster; a denial is reported per filter.
func DeleteACLs(c *Client, req kmsg.Request) Verdict {
	return clusterGate(c, req, authz.OpAlter, func(req kmsg.Request, resp kmsg.Response, code int16) {
		out := resp.(*kmsg.DeleteACLsResponse)
		for range req.(*kmsg.DeleteACLsRequest).Filters {
			x := kmsg.NewDeleteACLsResponseResult()
			x.ErrorCode = code
			out.Results = append(out.Results, x)
		}
	})
}

// setErrorCode sets the top-level ErrorCode of a response that has one.
// The kmsg types share no interface for it; this runs only for denials.
func setErrorCode(resp kmsg.Response, code int16) {
	if f := reflect.ValueOf(resp).Elem().FieldByName("ErrorCode"); f.IsValid() && f.CanSet() {
		f.SetInt(int64(code))
	}
}
