package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz/aclstore"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// ACLs, in the shape of Kafka REST v3. They are managed by the
// administrators of the cluster: OrganizationAdmin, and EnvironmentAdmin
// and CloudClusterAdmin over it.

var aclFilterParams = []param{
	{"resource_type", "TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID or ANY (default)"},
	{"resource_name", "the resource name; absent matches any"},
	{"pattern_type", "LITERAL, PREFIXED, MATCH (what applies to resource_name) or ANY (default)"},
	{"principal", "such as User:sa-a1b2c3; absent matches any"},
	{"host", "absent matches any"},
	{"operation", "such as READ, or ANY (default)"},
	{"permission", "ALLOW, DENY or ANY (default)"},
}

func (q *request) acl(x *store.ACL, cluster string) ACL {
	return ACL{Kind: "KafkaAcl", Metadata: ACLMeta{Self: q.self("/kafka/v3/clusters/" + escape(cluster) + "/acls")},
		ClusterID: cluster, ResourceType: x.ResourceType, ResourceName: x.ResourceName, PatternType: x.PatternType,
		Principal: x.Principal, Host: x.Host, Operation: x.Operation, Permission: x.Permission,
		Source: string(sourceOf(&x.Metadata))}
}

// aclCluster is the cluster of the path, after checking the caller may
// manage its ACLs.
func (q *request) aclCluster() (string, error) {
	id := q.pathParam("cluster_id")
	if id == "" || id != q.scope.cluster {
		return "", errorf(http.StatusNotFound, "cluster %s does not exist; this proxy serves %s", id, q.scope.cluster)
	}
	if !q.caller.adminOf(q.scope.clusterScope()) {
		return "", deny("the ACLs of cluster %s are managed by OrganizationAdmin, and EnvironmentAdmin or CloudClusterAdmin over it", id)
	}
	return id, nil
}

// filter reads an ACL filter from the query.
func (q *request) filter() (authz.Filter, error) {
	f := authz.Filter{ResourceType: authz.ResourceAny, Pattern: authz.PatternAny, Operation: authz.OpAny, Permission: authz.PermissionAny}
	var p problems
	v := q.r.URL.Query()
	var err error
	if s := v.Get("resource_type"); s != "" {
		if f.ResourceType, err = authz.ParseResourceType(s); err != nil {
			p.param("resource_type", "%v", err)
		}
	}
	if s := v.Get("pattern_type"); s != "" {
		if f.Pattern, err = authz.ParsePatternType(s); err != nil {
			p.param("pattern_type", "%v", err)
		}
	}
	if s := v.Get("operation"); s != "" {
		if f.Operation, err = authz.ParseOperation(s); err != nil {
			p.param("operation", "%v", err)
		}
	}
	if s := v.Get("permission"); s != "" {
		if f.Permission, err = authz.ParsePermission(s); err != nil {
			p.param("permission", "%v", err)
		}
	}
	opt := func(name string) *string {
		if v.Has(name) {
			s := v.Get(name)
			return &s
		}
		return nil
	}
	f.Name, f.Principal, f.Host = opt("resource_name"), opt("principal"), opt("host")
	return f, p.err()
}

func (s *Server) listACLs(q *request) (any, error) {
	cluster, err := q.aclCluster()
	if err != nil {
		return nil, err
	}
	f, err := q.filter()
	if err != nil {
		return nil, err
	}
	entries, _ := aclstore.Of(q.snap, cluster)
	out := ACLList{Kind: "KafkaAclList", Metadata: ACLMeta{Self: q.self(q.r.URL.RequestURI())}, Data: []ACL{}}
	for _, e := range entries {
		if f.Matches(e.ACL) {
			out.Data = append(out.Data, q.acl(e.Stored, cluster))
		}
	}
	return out, nil
}

func (s *Server) createACL(q *request) (any, error) {
	cluster, err := q.aclCluster()
	if err != nil {
		return nil, err
	}
	var in ACLCreate
	if err := q.decode(&in); err != nil {
		return nil, err
	}
	a := authz.ACL{Principal: in.Principal, Host: orDefault(in.Host, authz.Wildcard), Name: in.ResourceName}
	var p problems
	if a.ResourceType, err = authz.ParseResourceType(in.ResourceType); err != nil {
		p.add("/resource_type", "%v", err)
	}
	if a.Pattern, err = authz.ParsePatternType(orDefault(in.PatternType, "LITERAL")); err != nil {
		p.add("/pattern_type", "%v", err)
	}
	if a.Operation, err = authz.ParseOperation(in.Operation); err != nil {
		p.add("/operation", "%v", err)
	}
	if a.Permission, err = authz.ParsePermission(orDefault(in.Permission, "ALLOW")); err != nil {
		p.add("/permission", "%v", err)
	}
	if a.ResourceType == authz.ResourceCluster && a.Name == "" {
		a.Name = authz.ClusterName
	}
	if len(p.items) == 0 {
		if err := a.Validate(); err != nil {
			p.add("", "%v", err)
		}
	}
	if len(a.Name) > 255 || len(a.Principal) > 256 || len(a.Host) > 64 || strings.ContainsFunc(a.Name+a.Principal+a.Host, isControl) {
		p.add("", "resource_name (255), principal (256) and host (64 bytes) must be short and printable")
	}
	if len(p.items) == 0 && authz.ReservesACL(a, []string{store.StateTopic}) {
		return nil, deny("the proxy's state topic %s takes no ACLs: it is closed to every client", store.StateTopic)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	x := aclstore.ToStore(a, cluster)
	q.event.Object = a.String()
	q.event.Changed = map[string]any{"acl": a.String()}
	if _, exists := q.snap.Get(store.KindACL, x.Metadata.ID); !exists {
		if _, err := q.apply(store.Create(x)); err != nil && !isExists(err) {
			return nil, err
		}
	}
	stored, _ := q.s.o.Store.Snapshot().Get(store.KindACL, x.Metadata.ID)
	if stored == nil {
		stored = x
	}
	return q.acl(stored.(*store.ACL), cluster), nil
}

func (s *Server) deleteACLs(q *request) (any, error) {
	cluster, err := q.aclCluster()
	if err != nil {
		return nil, err
	}
	f, err := q.filter()
	if err != nil {
		return nil, err
	}
	if f.Name == nil && f.Principal == nil && f.ResourceType == authz.ResourceAny {
		var p problems
		p.param("resource_type", "deleting needs a filter: at least resource_type, resource_name or principal")
		return nil, p.err()
	}
	entries, _ := aclstore.Of(q.snap, cluster)
	out := ACLList{Kind: "KafkaAclList", Metadata: ACLMeta{Self: q.self(q.r.URL.RequestURI())}, Data: []ACL{}}
	var cmds []store.Command
	var fixed int
	for _, e := range entries {
		if !f.Matches(e.ACL) {
			continue
		}
		if e.Stored.Metadata.Source == store.SourceConfig {
			fixed++
			continue
		}
		cmds = append(cmds, store.Delete(store.KindACL, e.Stored.Metadata.ID, 0))
		out.Data = append(out.Data, q.acl(e.Stored, cluster))
	}
	if len(cmds) == 0 && fixed > 0 {
		return nil, errorf(http.StatusConflict, "the %d ACLs that match are declared in the configuration file; change them there", fixed)
	}
	q.event.Changed = map[string]any{"deleted": len(cmds)}
	if len(cmds) > 0 {
		if _, err := q.apply(cmds...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func isExists(err error) bool { return errors.Is(err, store.ErrExists) }
