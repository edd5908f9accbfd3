package admin

import (
	"net/http"
	"strings"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// Service accounts, users, and the organization, environment and cluster
// they live in.

func (q *request) serviceAccount(o *store.ServiceAccount) ServiceAccount {
	path := "/iam/v2/service-accounts/" + escape(o.Metadata.ID)
	crn := store.OrganizationCRN(q.scope.org) + "/service-account=" + o.Metadata.ID
	return ServiceAccount{APIVersion: APIVersion, Kind: "ServiceAccount", ID: o.Metadata.ID,
		Metadata: q.meta(&o.Metadata, path, crn), DisplayName: o.DisplayName, Description: o.Description}
}

func (q *request) user(o *store.User) User {
	path := "/iam/v2/users/" + escape(o.Metadata.ID)
	crn := store.OrganizationCRN(q.scope.org) + "/user=" + o.Metadata.ID
	return User{APIVersion: APIVersion, Kind: "User", ID: o.Metadata.ID,
		Metadata: q.meta(&o.Metadata, path, crn), Email: o.Email, FullName: o.FullName}
}

func (s *Server) listServiceAccounts(q *request) (any, error) {
	var ids []string
	var objs []*store.ServiceAccount
	for _, o := range q.snap.ServiceAccounts() {
		if q.caller.maySeeAccount(o.Metadata.ID) {
			ids = append(ids, o.Metadata.ID)
			objs = append(objs, o)
		}
	}
	return pageFunc(q, "ServiceAccountList", ids, func(i int) ServiceAccount { return q.serviceAccount(objs[i]) })
}

// visibleAccount returns the service account of the path, or 404 when it
// does not exist or the caller may not see it.
func (q *request) visibleServiceAccount() (*store.ServiceAccount, error) {
	id := q.pathParam("id")
	q.event.Object = id
	o, ok := q.snap.ServiceAccount(id)
	if !ok || !q.caller.maySeeAccount(id) {
		return nil, errorf(http.StatusNotFound, "service account %s does not exist", id)
	}
	return o, nil
}

func (s *Server) getServiceAccount(q *request) (any, error) {
	o, err := q.visibleServiceAccount()
	if err != nil {
		return nil, err
	}
	q.etag(&o.Metadata)
	return q.serviceAccount(o), nil
}

func (s *Server) createServiceAccount(q *request) (any, error) {
	if !q.caller.orgAdmin() {
		return nil, deny("creating service accounts needs OrganizationAdmin")
	}
	var in ServiceAccountCreate
	if err := q.decode(&in); err != nil {
		return nil, err
	}
	var p problems
	checkName(&p, "/display_name", in.DisplayName, true)
	checkText(&p, "/description", in.Description)
	if err := p.err(); err != nil {
		return nil, err
	}
	id, err := newID(q.snap, store.KindServiceAccount, store.ServiceAccountPrefix)
	if err != nil {
		return nil, err
	}
	q.event.Object = id
	q.event.Changed = map[string]any{"display_name": in.DisplayName, "description": in.Description}
	snap, err := q.apply(store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: id}, DisplayName: in.DisplayName, Description: in.Description}))
	if err != nil {
		return nil, err
	}
	o, _ := snap.ServiceAccount(id)
	q.etag(&o.Metadata)
	q.header.Set("Location", q.self("/iam/v2/service-accounts/"+id))
	return q.serviceAccount(o), nil
}

func (s *Server) updateServiceAccount(q *request) (any, error) {
	o, err := q.visibleServiceAccount()
	if err != nil {
		return nil, err
	}
	if !q.caller.orgAdmin() {
		return nil, deny("updating service accounts needs OrganizationAdmin")
	}
	var in ServiceAccountUpdate
	if err := q.decode(&in); err != nil {
		return nil, err
	}
	v, err := q.ifVersion(in.Metadata)
	if err != nil {
		return nil, err
	}
	var p problems
	next := *o
	changed := map[string]any{}
	if in.DisplayName != nil {
		checkName(&p, "/display_name", *in.DisplayName, true)
		next.DisplayName = *in.DisplayName
		changed["display_name"] = next.DisplayName
	}
	if in.Description != nil {
		checkText(&p, "/description", *in.Description)
		next.Description = *in.Description
		changed["description"] = next.Description
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	n, err := q.replace(&next, v, changed)
	if err != nil {
		return nil, err
	}
	return q.serviceAccount(n.(*store.ServiceAccount)), nil
}

func (s *Server) deleteServiceAccount(q *request) (any, error) {
	o, err := q.visibleServiceAccount()
	if err != nil {
		return nil, err
	}
	return nil, q.deleteAccount(store.KindServiceAccount, o.Metadata.ID, "service accounts")
}

// deleteAccount deletes an account and, through the store, its keys,
// bindings and ACLs. Only an OrganizationAdmin may, and not its own
// account while that holds its OrganizationAdmin binding.
func (q *request) deleteAccount(k store.Kind, id, noun string) error {
	if !q.caller.orgAdmin() {
		return deny("deleting %s needs OrganizationAdmin", noun)
	}
	if q.caller.principal == store.Principal(id) && q.caller.orgAdmin() {
		return deny("you cannot delete your own account: it holds your OrganizationAdmin binding")
	}
	return q.remove(k, id)
}

func (s *Server) listUsers(q *request) (any, error) {
	var ids []string
	var objs []*store.User
	for _, o := range q.snap.Users() {
		if q.caller.maySeeAccount(o.Metadata.ID) {
			ids = append(ids, o.Metadata.ID)
			objs = append(objs, o)
		}
	}
	return pageFunc(q, "UserList", ids, func(i int) User { return q.user(objs[i]) })
}

func (q *request) visibleUser() (*store.User, error) {
	id := q.pathParam("id")
	q.event.Object = id
	o, ok := q.snap.User(id)
	if !ok || !q.caller.maySeeAccount(id) {
		return nil, errorf(http.StatusNotFound, "user %s does not exist", id)
	}
	return o, nil
}

func (s *Server) getUser(q *request) (any, error) {
	o, err := q.visibleUser()
	if err != nil {
		return nil, err
	}
	q.etag(&o.Metadata)
	return q.user(o), nil
}

func (s *Server) createUser(q *request) (any, error) {
	if !q.caller.orgAdmin() {
		return nil, deny("creating users needs OrganizationAdmin")
	}
	var in UserCreate
	if err := q.decode(&in); err != nil {
		return nil, err
	}
	var p problems
	if at := strings.IndexByte(in.Email, '@'); at < 1 || at == len(in.Email)-1 || len(in.Email) > 254 || strings.ContainsAny(in.Email, " \t\r\n") {
		p.add("/email", "email must be an address such as alice@example.com")
	}
	checkText(&p, "/full_name", in.FullName)
	if err := p.err(); err != nil {
		return nil, err
	}
	id, err := newID(q.snap, store.KindUser, store.UserAccountPrefix)
	if err != nil {
		return nil, err
	}
	q.event.Object = id
	q.event.Changed = map[string]any{"email": in.Email, "full_name": in.FullName}
	snap, err := q.apply(store.Create(&store.User{Metadata: store.Meta{ID: id}, Email: in.Email, FullName: in.FullName}))
	if err != nil {
		return nil, err
	}
	o, _ := snap.User(id)
	q.etag(&o.Metadata)
	q.header.Set("Location", q.self("/iam/v2/users/"+id))
	return q.user(o), nil
}

func (s *Server) deleteUser(q *request) (any, error) {
	o, err := q.visibleUser()
	if err != nil {
		return nil, err
	}
	return nil, q.deleteAccount(store.KindUser, o.Metadata.ID, "users")
}

func (q *request) organization() Organization {
	return Organization{APIVersion: "org/v2", Kind: "Organization", ID: q.scope.org, DisplayName: q.scope.org,
		Metadata: ObjectMeta{Self: q.self("/org/v2/organizations/" + escape(q.scope.org)), ResourceName: store.OrganizationCRN(q.scope.org), Source: string(store.SourceConfig)}}
}

func (q *request) environment() Environment {
	return Environment{APIVersion: "org/v2", Kind: "Environment", ID: q.scope.env, DisplayName: q.scope.env,
		Metadata: ObjectMeta{Self: q.self("/org/v2/environments/" + escape(q.scope.env)), ResourceName: q.scope.envScope().String(), Source: string(store.SourceConfig)}}
}

// cluster is the proxy's cluster, or a 503 while its id is not known.
func (q *request) cluster() (Cluster, error) {
	if q.scope.cluster == "" {
		return Cluster{}, errorf(http.StatusServiceUnavailable, "the cluster id is not known yet: the upstream cluster has not been reached")
	}
	return Cluster{APIVersion: "cmk/v2", Kind: "Cluster", ID: q.scope.cluster,
		Metadata: ObjectMeta{Self: q.self("/cmk/v2/clusters/" + escape(q.scope.cluster)), ResourceName: q.scope.clusterScope().String(), Source: string(store.SourceConfig)},
		Spec:     ClusterSpec{DisplayName: q.scope.cluster, Environment: ObjectRef{ID: q.scope.env, Kind: "Environment"}}}, nil
}

func (s *Server) listOrganizations(q *request) (any, error) {
	org := q.organization()
	l, err := pageOf(q, "OrganizationList", []string{org.ID}, []Organization{org})
	if l != nil {
		l.APIVersion = "org/v2"
	}
	return l, err
}

func (s *Server) getOrganization(q *request) (any, error) {
	if id := q.pathParam("id"); id != q.scope.org {
		return nil, errorf(http.StatusNotFound, "organization %s does not exist; this is %s", id, q.scope.org)
	}
	return q.organization(), nil
}

func (s *Server) listEnvironments(q *request) (any, error) {
	env := q.environment()
	l, err := pageOf(q, "EnvironmentList", []string{env.ID}, []Environment{env})
	if l != nil {
		l.APIVersion = "org/v2"
	}
	return l, err
}

func (s *Server) getEnvironment(q *request) (any, error) {
	if id := q.pathParam("id"); id != q.scope.env {
		return nil, errorf(http.StatusNotFound, "environment %s does not exist; the environment is %s", id, q.scope.env)
	}
	return q.environment(), nil
}

func (s *Server) listClusters(q *request) (any, error) {
	c, err := q.cluster()
	if err != nil {
		return nil, err
	}
	var ids []string
	var out []Cluster
	if e := q.query("environment"); e == "" || e == q.scope.env {
		ids, out = []string{c.ID}, []Cluster{c}
	}
	l, err := pageOf(q, "ClusterList", ids, out)
	if l != nil {
		l.APIVersion = "cmk/v2"
	}
	return l, err
}

func (s *Server) getCluster(q *request) (any, error) {
	c, err := q.cluster()
	if err != nil {
		return nil, err
	}
	if id := q.pathParam("id"); id != c.ID {
		return nil, errorf(http.StatusNotFound, "cluster %s does not exist; this proxy serves %s", id, c.ID)
	}
	return c, nil
}

// Field checks shared by the handlers.

const (
	maxNameLen = 64
	maxTextLen = 1024
)

func checkName(p *problems, pointer, v string, required bool) {
	switch {
	case required && strings.TrimSpace(v) == "":
		p.add(pointer, "%s is required", strings.TrimPrefix(pointer, "/"))
	case len(v) > maxNameLen:
		p.add(pointer, "%s is longer than %d bytes", strings.TrimPrefix(pointer, "/"), maxNameLen)
	case strings.ContainsFunc(v, isControl):
		p.add(pointer, "%s may not contain control characters", strings.TrimPrefix(pointer, "/"))
	}
}

func checkText(p *problems, pointer, v string) {
	switch {
	case len(v) > maxTextLen:
		p.add(pointer, "%s is longer than %d bytes", strings.TrimPrefix(pointer, "/"), maxTextLen)
	case strings.ContainsFunc(v, func(r rune) bool { return isControl(r) && r != '\n' && r != '\t' }):
		p.add(pointer, "%s may not contain control characters", strings.TrimPrefix(pointer, "/"))
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// newID returns a fresh id for an object of kind k.
func newID(snap *store.Snapshot, k store.Kind, prefix string) (string, error) {
	for range 10 {
		id, err := store.NewID(prefix)
		if err != nil {
			return "", err
		}
		if _, taken := snap.Get(k, id); !taken {
			return id, nil
		}
	}
	return "", errorf(http.StatusServiceUnavailable, "no free id; retry")
}
