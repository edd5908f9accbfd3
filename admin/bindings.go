package admin

import (
	"net/http"
	"strings"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// Role bindings and roles.

func (q *request) roleBinding(o *store.RoleBinding) RoleBinding {
	path := "/iam/v2/role-bindings/" + escape(o.Metadata.ID)
	crn := store.OrganizationCRN(q.scope.org) + "/role-binding=" + o.Metadata.ID
	return RoleBinding{APIVersion: APIVersion, Kind: "RoleBinding", ID: o.Metadata.ID, Metadata: q.meta(&o.Metadata, path, crn),
		Principal: o.Principal, RoleName: o.RoleName, CRNPattern: o.CRNPattern}
}

// mayGrantBinding applies mayGrant to an existing binding.
func (q *request) mayGrantBinding(b *store.RoleBinding) error {
	if q.caller.orgAdmin() {
		return nil
	}
	sc, err := q.snap.BindingScope(b)
	if err != nil {
		if q.caller.orgAdmin() {
			return nil
		}
		return deny("a binding with an unreadable crn_pattern can be managed by an OrganizationAdmin only")
	}
	return q.caller.mayGrant(b.RoleName, sc)
}

// mayView reports whether the caller may see the binding: its own, or
// one it could grant.
func (q *request) mayView(b *store.RoleBinding) bool {
	return b.Principal == q.caller.principal || q.mayGrantBinding(b) == nil
}

func (s *Server) listRoleBindings(q *request) (any, error) {
	principal, role, crn := q.query("principal"), q.query("role_name"), q.query("crn_pattern")
	var within *store.Scope
	if crn != "" {
		sc, err := store.ParseCRN(crn)
		if err != nil {
			var p problems
			p.param("crn_pattern", "crn_pattern: %v", err)
			return nil, p.err()
		}
		within = &sc
	}
	candidates := q.snap.RoleBindings()
	if principal != "" {
		candidates = q.snap.RoleBindingsOf(principal)
	}
	var ids []string
	var objs []*store.RoleBinding
	for _, b := range candidates {
		if role != "" && b.RoleName != role {
			continue
		}
		if within != nil {
			sc, err := q.snap.BindingScope(b)
			if err != nil || !within.Contains(sc) {
				continue
			}
		}
		if !q.mayView(b) {
			continue
		}
		ids = append(ids, b.Metadata.ID)
		objs = append(objs, b)
	}
	return pageFunc(q, "RoleBindingList", ids, func(i int) RoleBinding { return q.roleBinding(objs[i]) })
}

func (q *request) visibleBinding() (*store.RoleBinding, error) {
	id := q.pathParam("id")
	q.event.Object = id
	b, ok := q.snap.RoleBinding(id)
	if !ok || !q.mayView(b) {
		return nil, errorf(http.StatusNotFound, "role binding %s does not exist", id)
	}
	return b, nil
}

func (s *Server) getRoleBinding(q *request) (any, error) {
	b, err := q.visibleBinding()
	if err != nil {
		return nil, err
	}
	q.etag(&b.Metadata)
	return q.roleBinding(b), nil
}

func (s *Server) createRoleBinding(q *request) (any, error) {
	var in RoleBindingCreate
	if err := q.decode(&in); err != nil {
		return nil, err
	}
	var p problems
	if !authz.ValidPrincipal(in.Principal) || len(in.Principal) > 256 || strings.ContainsFunc(in.Principal, isControl) {
		p.add("/principal", "principal must be User:<id>, such as User:sa-a1b2c3")
	} else if !q.snap.PrincipalExists(in.Principal) {
		p.add("/principal", "principal %s is not an existing service account, user or identity pool", in.Principal)
	}
	sc, err := store.ParseCRN(in.CRNPattern)
	if err != nil {
		p.add("/crn_pattern", "crn_pattern: %v", err)
	} else if err := checkBinding(in.RoleName, sc, q.scope); err != nil {
		ptr := "/crn_pattern"
		if strings.HasPrefix(err.Error(), "role_name") {
			ptr = "/role_name"
		}
		p.add(ptr, "%v", err)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if err := q.caller.mayGrant(in.RoleName, sc); err != nil {
		return nil, err
	}
	id, err := newID(q.snap, store.KindRoleBinding, store.RoleBindingPrefix)
	if err != nil {
		return nil, err
	}
	q.event.Object = id
	q.event.Changed = map[string]any{"principal": in.Principal, "role_name": in.RoleName, "crn_pattern": sc.String()}
	snap, err := q.apply(store.Create(&store.RoleBinding{Metadata: store.Meta{ID: id}, Principal: in.Principal,
		RoleName: in.RoleName, CRNPattern: sc.String()}))
	if err != nil {
		return nil, err
	}
	b, _ := snap.RoleBinding(id)
	q.etag(&b.Metadata)
	q.header.Set("Location", q.self("/iam/v2/role-bindings/"+id))
	return q.roleBinding(b), nil
}

func (s *Server) deleteRoleBinding(q *request) (any, error) {
	b, err := q.visibleBinding()
	if err != nil {
		return nil, err
	}
	if err := q.mayGrantBinding(b); err != nil {
		return nil, err
	}
	if b.Principal == q.caller.principal && store.IsOrganizationAdmin(b) {
		return nil, deny("you cannot remove your own OrganizationAdmin binding: another OrganizationAdmin must")
	}
	return nil, q.remove(store.KindRoleBinding, b.Metadata.ID)
}

// roleDescriptions say what each role is for.
var roleDescriptions = map[string]string{
	authz.RoleDeveloperRead:     "Read and describe topics and consumer groups",
	authz.RoleDeveloperWrite:    "Write to topics and transactional ids",
	authz.RoleDeveloperManage:   "Create, delete and configure topics; describe and delete groups",
	authz.RoleResourceOwner:     "Everything on the resources, and grant roles on them",
	authz.RoleOperator:          "Describe the cluster and its resources",
	authz.RoleCloudClusterAdmin: "Everything on one cluster: its data, role bindings, ACLs and cluster API keys",
	authz.RoleEnvironmentAdmin:  "Everything in one environment: its clusters, role bindings, ACLs and cluster API keys",
	authz.RoleOrganizationAdmin: "Everything in the organization, including accounts, identity providers and pools",
	authz.RoleMetricsViewer:     "Describe the cluster and read its metrics",
}

func role(name string) (Role, bool) {
	grants, err := authz.RoleGrants(name)
	if err != nil {
		return Role{}, false
	}
	r := Role{APIVersion: APIVersion, Kind: "Role", Name: name, Scope: roleScopeLevel(name), Description: roleDescriptions[name]}
	for _, g := range grants {
		rg := RoleGrant{ResourceType: store.KafkaName(g.ResourceType.String())}
		for _, op := range g.Operations {
			rg.Operations = append(rg.Operations, store.KafkaName(op.String()))
		}
		r.Grants = append(r.Grants, rg)
	}
	return r, true
}

func (s *Server) listRoles(q *request) (any, error) {
	var ids []string
	var out []Role
	for _, name := range authz.Roles() {
		r, _ := role(name)
		ids = append(ids, name)
		out = append(out, r)
	}
	// Pages go by name, so order them by name.
	sortByID(ids, out)
	return pageOf(q, "RoleList", ids, out)
}

func (s *Server) getRole(q *request) (any, error) {
	name := q.pathParam("name")
	r, ok := role(name)
	if !ok {
		return nil, errorf(http.StatusNotFound, "role %s does not exist; the roles are %s", name, strings.Join(authz.Roles(), ", "))
	}
	return r, nil
}

// sortByID sorts ids and items together by id.
func sortByID[T any](ids []string, items []T) {
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j] < ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
}
