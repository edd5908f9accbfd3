package admin_test

import (
	"strings"
	"testing"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// Who may manage what: one table of caller × action. Each cell runs on a
// fresh state holding every caller below, a second OrganizationAdmin
// (root), an account "target" with a cluster key, a cloud key, an ACL and
// four bindings, an account "grantee" with nothing, a user, and an
// identity provider with a pool. Every caller has its own cluster key
// and a spare cloud key beside the cloud key it calls with.

// The callers, by the one binding each holds.
const (
	asOrgAdmin     = "OrganizationAdmin"
	asEnvAdmin     = "EnvironmentAdmin on env-a"
	asClusterAdmin = "CloudClusterAdmin on lkc-1"
	asOwner        = "ResourceOwner on Topic orders- (prefixed)"
	asReader       = "DeveloperRead on Topic orders-1"
	asNobody       = "no role binding"
)

var everyCaller = []string{asOrgAdmin, asEnvAdmin, asClusterAdmin, asOwner, asReader, asNobody}

// by is an expectation per caller, in the order of everyCaller.
type by struct{ org, env, cluster, owner, reader, nobody int }

func (b by) of(who string) int {
	return map[string]int{asOrgAdmin: b.org, asEnvAdmin: b.env, asClusterAdmin: b.cluster,
		asOwner: b.owner, asReader: b.reader, asNobody: b.nobody}[who]
}

// everyone is the same status for every caller.
func everyone(status int) by { return by{status, status, status, status, status, status} }

// onlyOrgAdmin allows the OrganizationAdmin and refuses everyone else.
func onlyOrgAdmin(ok, refused int) by { return by{ok, refused, refused, refused, refused, refused} }

// The bindings of the target account.
const (
	readOrders2   = "DeveloperRead on orders-2"
	readPayments  = "DeveloperRead on payments"
	adminCluster  = "CloudClusterAdmin on lkc-1"
	adminEnv      = "EnvironmentAdmin on env-a"
	numberOfSAs   = 9  // six callers, root, target, grantee
	numberOfKeys  = 21 // three of each caller, root's, target's two
	bindingsInAll = 10 // the callers' five, root's, target's four
)

type rightsFixture struct {
	e       *testEnv
	callers map[string]*caller
	// own are each caller's cluster key, spare cloud key and binding.
	own                      map[string]ownThings
	root                     *caller
	rootBinding              string
	target, grantee, user    string
	targetCluster, targetKey string // the target's cluster and cloud keys
	targetBindings           map[string]string
	provider, pool           string
}

type ownThings struct{ clusterKey, cloudKey, binding string }

func newRightsFixture(t *testing.T) *rightsFixture {
	t.Helper()
	e := newEnv(t)
	f := &rightsFixture{e: e, callers: map[string]*caller{}, own: map[string]ownThings{}, targetBindings: map[string]string{}}
	f.callers[asOrgAdmin] = e.caller("org-admin", roleOn{OrganizationAdmin, orgCRN})
	f.callers[asEnvAdmin] = e.caller("env-admin", roleOn{EnvironmentAdmin, envCRN})
	f.callers[asClusterAdmin] = e.caller("cluster-admin", roleOn{CloudClusterAdmin, clusterCRN})
	f.callers[asOwner] = e.caller("owner", roleOn{ResourceOwner, topicCRN("orders-*")})
	f.callers[asReader] = e.caller("reader", roleOn{DeveloperRead, topicCRN("orders-1")})
	f.callers[asNobody] = e.caller("nobody")
	snap := e.st.Snapshot()
	for who, c := range f.callers {
		var o ownThings
		o.clusterKey, _ = e.key(c.id, "lkc-1")
		o.cloudKey, _ = e.key(c.id, store.ResourceCloud)
		for _, b := range snap.RoleBindings() {
			if b.Principal == c.principal {
				o.binding = b.Metadata.ID
			}
		}
		f.own[who] = o
	}
	f.root = e.orgAdmin("root")
	for _, b := range e.st.Snapshot().RoleBindings() {
		if b.Principal == f.root.principal {
			f.rootBinding = b.Metadata.ID
		}
	}
	f.target = e.serviceAccount("target")
	f.targetCluster, _ = e.key(f.target, "lkc-1")
	f.targetKey, _ = e.key(f.target, store.ResourceCloud)
	tp := store.Principal(f.target)
	f.targetBindings[readOrders2] = e.bind(tp, DeveloperRead, topicCRN("orders-2"))
	f.targetBindings[readPayments] = e.bind(tp, DeveloperRead, topicCRN("payments"))
	f.targetBindings[adminCluster] = e.bind(tp, CloudClusterAdmin, clusterCRN)
	f.targetBindings[adminEnv] = e.bind(tp, EnvironmentAdmin, envCRN)
	acl := &store.ACL{Cluster: "lkc-1", ResourceType: "TOPIC", ResourceName: "orders", PatternType: "LITERAL",
		Principal: tp, Host: "*", Operation: "READ", Permission: "ALLOW"}
	acl.Metadata.ID = store.ACLID(acl)
	e.seed(store.Create(acl))
	f.grantee = e.serviceAccount("grantee")
	f.user = e.user("alice@example.com")
	f.provider = e.provider("corp")
	f.pool = e.pool(f.provider, "analytics")
	return f
}

func (f *rightsFixture) grant(c *caller, role, crn string) *response {
	return c.post("/iam/v2/role-bindings", bindingBody(store.Principal(f.grantee), role, crn))
}

func (f *rightsFixture) poolPath() string {
	return "/iam/v2/identity-providers/" + f.provider + "/identity-pools/" + f.pool
}

func TestWhoMayManageWhat(t *testing.T) {
	const sas, keys = "/iam/v2/service-accounts", "/iam/v2/api-keys"
	rows := []struct {
		action string
		do     func(f *rightsFixture, c *caller) *response
		want   by
		// listed is the total_size a list answer shows each caller.
		listed *by
		// right is what a 403 names.
		right string
	}{
		// Service accounts and users.
		{action: "create a service account", want: onlyOrgAdmin(201, 403), right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response { return c.post(sas, map[string]any{"display_name": "new"}) }},
		{action: "delete another service account", want: by{204, 403, 403, 403, 404, 404}, right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response { return c.delete(sas + "/" + f.target) }},
		{action: "delete its own service account", want: everyone(403), right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response { return c.delete(sas + "/" + c.id) }},
		{action: "update another service account", want: by{200, 403, 403, 403, 404, 404}, right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response {
				return c.patch(sas+"/"+f.target, map[string]any{"description": "x"})
			}},
		{action: "update its own service account", want: onlyOrgAdmin(200, 403), right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response {
				return c.patch(sas+"/"+c.id, map[string]any{"description": "x"})
			}},
		{action: "create a user", want: onlyOrgAdmin(201, 403), right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response {
				return c.post("/iam/v2/users", map[string]any{"email": "bob@example.com"})
			}},
		{action: "delete a user", want: by{204, 403, 403, 403, 404, 404}, right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response { return c.delete("/iam/v2/users/" + f.user) }},
		{action: "list service accounts: managers see all, others only themselves", want: everyone(200),
			listed: &by{numberOfSAs, numberOfSAs, numberOfSAs, numberOfSAs, 1, 1},
			do:     func(f *rightsFixture, c *caller) *response { return c.get(q(sas, "page_size", "100")) }},
		{action: "list users", want: everyone(200), listed: &by{1, 1, 1, 1, 0, 0},
			do: func(f *rightsFixture, c *caller) *response { return c.get("/iam/v2/users") }},
		{action: "describe its own account", want: everyone(200),
			do: func(f *rightsFixture, c *caller) *response { return c.get(sas + "/" + c.id) }},
		{action: "describe another account", want: by{200, 200, 200, 200, 404, 404},
			do: func(f *rightsFixture, c *caller) *response { return c.get(sas + "/" + f.target) }},
		{action: "describe a user", want: by{200, 200, 200, 200, 404, 404},
			do: func(f *rightsFixture, c *caller) *response { return c.get("/iam/v2/users/" + f.user) }},

		// Its own API keys.
		{action: "create its own cluster key", want: everyone(201),
			do: func(f *rightsFixture, c *caller) *response { return c.post(keys, createKeyBody(c.id, "lkc-1")) }},
		{action: "list its own keys", want: everyone(200), listed: &by{3, 3, 3, 3, 3, 3},
			do: func(f *rightsFixture, c *caller) *response { return c.get(q(keys, "spec.owner", c.id)) }},
		{action: "describe its own cluster key", want: everyone(200),
			do: func(f *rightsFixture, c *caller) *response { return c.get(keys + "/" + f.own[whoIs(f, c)].clusterKey) }},
		{action: "update its own cluster key", want: everyone(200),
			do: func(f *rightsFixture, c *caller) *response {
				return c.patch(keys+"/"+f.own[whoIs(f, c)].clusterKey, map[string]any{"spec": map[string]any{"description": "x"}})
			}},
		{action: "delete its own cluster key", want: everyone(204),
			do: func(f *rightsFixture, c *caller) *response {
				return c.delete(keys + "/" + f.own[whoIs(f, c)].clusterKey)
			}},
		{action: "create its own cloud key", want: everyone(201),
			do: func(f *rightsFixture, c *caller) *response { return c.post(keys, createKeyBody(c.id, "cloud")) }},
		{action: "delete its own cloud key", want: everyone(204),
			do: func(f *rightsFixture, c *caller) *response { return c.delete(keys + "/" + f.own[whoIs(f, c)].cloudKey) }},

		// The API keys of others.
		{action: "create a cluster key for another account", want: by{201, 201, 201, 403, 403, 403}, right: CloudClusterAdmin,
			do: func(f *rightsFixture, c *caller) *response { return c.post(keys, createKeyBody(f.target, "lkc-1")) }},
		{action: "create a cloud key for another account", want: onlyOrgAdmin(201, 403), right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response { return c.post(keys, createKeyBody(f.target, "cloud")) }},
		{action: "list another account's keys", want: by{200, 200, 200, 403, 403, 403}, listed: &by{2, 1, 1, 0, 0, 0}, right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response { return c.get(q(keys, "spec.owner", f.target)) }},
		{action: "list another account's cloud keys", want: onlyOrgAdmin(200, 403), right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response {
				return c.get(q(keys, "spec.owner", f.target, "spec.resource", "cloud"))
			}},
		{action: "list every key: cluster admins see all cluster keys, others their own", want: everyone(200),
			listed: &by{numberOfKeys, 9, 9, 3, 3, 3},
			do:     func(f *rightsFixture, c *caller) *response { return c.get(q(keys, "page_size", "100")) }},
		{action: "describe another account's cluster key", want: by{200, 200, 200, 404, 404, 404},
			do: func(f *rightsFixture, c *caller) *response { return c.get(keys + "/" + f.targetCluster) }},
		{action: "delete another account's cluster key", want: by{204, 204, 204, 404, 404, 404},
			do: func(f *rightsFixture, c *caller) *response { return c.delete(keys + "/" + f.targetCluster) }},
		{action: "delete another account's cloud key", want: onlyOrgAdmin(204, 404),
			do: func(f *rightsFixture, c *caller) *response { return c.delete(keys + "/" + f.targetKey) }},

		// Granting: never more general than what the caller holds.
		{action: "grant DeveloperRead on Topic orders-1", want: by{201, 201, 201, 201, 403, 403}, right: ResourceOwner,
			do: func(f *rightsFixture, c *caller) *response { return f.grant(c, DeveloperRead, topicCRN("orders-1")) }},
		{action: "grant ResourceOwner on Topic orders-eu- (a prefix inside orders-)", want: by{201, 201, 201, 201, 403, 403}, right: ResourceOwner,
			do: func(f *rightsFixture, c *caller) *response { return f.grant(c, ResourceOwner, topicCRN("orders-eu-*")) }},
		{action: "grant DeveloperRead on Topic orders (wider than orders-)", want: by{201, 201, 201, 403, 403, 403}, right: ResourceOwner,
			do: func(f *rightsFixture, c *caller) *response { return f.grant(c, DeveloperRead, topicCRN("orders*")) }},
		{action: "grant DeveloperRead on Topic payments", want: by{201, 201, 201, 403, 403, 403}, right: ResourceOwner,
			do: func(f *rightsFixture, c *caller) *response { return f.grant(c, DeveloperRead, topicCRN("payments")) }},
		{action: "grant DeveloperRead on Group orders-app", want: by{201, 201, 201, 403, 403, 403}, right: ResourceOwner,
			do: func(f *rightsFixture, c *caller) *response {
				return f.grant(c, DeveloperRead, clusterCRN+"/kafka=lkc-1/group=orders-app")
			}},
		{action: "grant CloudClusterAdmin on lkc-1", want: by{201, 201, 201, 403, 403, 403}, right: CloudClusterAdmin,
			do: func(f *rightsFixture, c *caller) *response { return f.grant(c, CloudClusterAdmin, clusterCRN) }},
		{action: "grant EnvironmentAdmin on env-a", want: by{201, 201, 403, 403, 403, 403}, right: EnvironmentAdmin,
			do: func(f *rightsFixture, c *caller) *response { return f.grant(c, EnvironmentAdmin, envCRN) }},
		{action: "grant OrganizationAdmin", want: onlyOrgAdmin(201, 403), right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response { return f.grant(c, OrganizationAdmin, orgCRN) }},

		// Revoking follows the same rule; a binding the caller could not
		// grant is not shown to it.
		{action: "revoke DeveloperRead on Topic orders-2", want: by{204, 204, 204, 204, 404, 404},
			do: func(f *rightsFixture, c *caller) *response {
				return c.delete("/iam/v2/role-bindings/" + f.targetBindings[readOrders2])
			}},
		{action: "revoke DeveloperRead on Topic payments", want: by{204, 204, 204, 404, 404, 404},
			do: func(f *rightsFixture, c *caller) *response {
				return c.delete("/iam/v2/role-bindings/" + f.targetBindings[readPayments])
			}},
		{action: "revoke CloudClusterAdmin on lkc-1", want: by{204, 204, 204, 404, 404, 404},
			do: func(f *rightsFixture, c *caller) *response {
				return c.delete("/iam/v2/role-bindings/" + f.targetBindings[adminCluster])
			}},
		{action: "revoke EnvironmentAdmin on env-a", want: by{204, 204, 404, 404, 404, 404},
			do: func(f *rightsFixture, c *caller) *response {
				return c.delete("/iam/v2/role-bindings/" + f.targetBindings[adminEnv])
			}},
		{action: "revoke another admin's OrganizationAdmin", want: onlyOrgAdmin(204, 404),
			do: func(f *rightsFixture, c *caller) *response { return c.delete("/iam/v2/role-bindings/" + f.rootBinding) }},
		// Its own OrganizationAdmin binding never, even beside another
		// admin; DeveloperRead grants nothing, not even its own; the
		// caller without a binding has none to revoke.
		{action: "revoke its own binding", want: by{403, 204, 204, 204, 403, 404}, right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response {
				id := f.own[whoIs(f, c)].binding
				if id == "" {
					id = "rb-none0"
				}
				return c.delete("/iam/v2/role-bindings/" + id)
			}},
		{action: "list role bindings: those it could grant and its own", want: everyone(200),
			listed: &by{bindingsInAll, 8, 6, 3, 1, 0},
			do: func(f *rightsFixture, c *caller) *response {
				return c.get(q("/iam/v2/role-bindings", "page_size", "100"))
			}},
		{action: "describe a binding on Topic orders-2", want: by{200, 200, 200, 200, 404, 404},
			do: func(f *rightsFixture, c *caller) *response {
				return c.get("/iam/v2/role-bindings/" + f.targetBindings[readOrders2])
			}},

		// Bindings that cannot exist, for anyone.
		{action: "grant on an environment that does not exist", want: everyone(400),
			do: func(f *rightsFixture, c *caller) *response {
				return f.grant(c, EnvironmentAdmin, orgCRN+"/environment=env-b")
			}},
		{action: "grant on a cluster that does not exist", want: everyone(400),
			do: func(f *rightsFixture, c *caller) *response {
				return f.grant(c, CloudClusterAdmin, envCRN+"/cloud-cluster=lkc-2")
			}},
		{action: "grant on a topic of a cluster that does not exist", want: everyone(400),
			do: func(f *rightsFixture, c *caller) *response {
				return f.grant(c, DeveloperRead, envCRN+"/cloud-cluster=lkc-2/kafka=lkc-2/topic=orders-1")
			}},
		{action: "grant in another organization", want: everyone(400),
			do: func(f *rightsFixture, c *caller) *response {
				return f.grant(c, OrganizationAdmin, "crn://kafka-auth-proxy/organization=org-2")
			}},
		{action: "grant DeveloperRead on a cluster CRN", want: everyone(400),
			do: func(f *rightsFixture, c *caller) *response { return f.grant(c, DeveloperRead, clusterCRN) }},
		{action: "grant CloudClusterAdmin on a topic CRN", want: everyone(400),
			do: func(f *rightsFixture, c *caller) *response {
				return f.grant(c, CloudClusterAdmin, topicCRN("orders-1"))
			}},
		{action: "grant OrganizationAdmin on an environment CRN", want: everyone(400),
			do: func(f *rightsFixture, c *caller) *response { return f.grant(c, OrganizationAdmin, envCRN) }},
		{action: "grant DeveloperWrite on a Group", want: everyone(400),
			do: func(f *rightsFixture, c *caller) *response {
				return f.grant(c, DeveloperWrite, clusterCRN+"/kafka=lkc-1/group=orders-app")
			}},

		// ACLs of lkc-1: its administrators.
		{action: "create an ACL", want: by{201, 201, 201, 403, 403, 403}, right: CloudClusterAdmin,
			do: func(f *rightsFixture, c *caller) *response {
				return c.post(aclsPath, aclBody(store.Principal(f.grantee), "orders-1", "READ"))
			}},
		{action: "list ACLs", want: by{200, 200, 200, 403, 403, 403}, right: CloudClusterAdmin,
			do: func(f *rightsFixture, c *caller) *response { return c.get(aclsPath) }},
		{action: "delete ACLs", want: by{200, 200, 200, 403, 403, 403}, right: CloudClusterAdmin,
			do: func(f *rightsFixture, c *caller) *response {
				return c.delete(q(aclsPath, "principal", store.Principal(f.target)))
			}},

		// Identity providers and pools: OrganizationAdmin changes them,
		// managers read them.
		{action: "list identity providers", want: by{200, 200, 200, 200, 403, 403}, right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response { return c.get("/iam/v2/identity-providers") }},
		{action: "describe an identity provider", want: by{200, 200, 200, 200, 403, 403}, right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response { return c.get("/iam/v2/identity-providers/" + f.provider) }},
		{action: "create an identity provider", want: onlyOrgAdmin(201, 403), right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response {
				return c.post("/iam/v2/identity-providers", map[string]any{"display_name": "new", "issuer": "https://idp.example.com/new"})
			}},
		{action: "update an identity provider", want: onlyOrgAdmin(200, 403), right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response {
				return c.patch("/iam/v2/identity-providers/"+f.provider, map[string]any{"description": "x"})
			}},
		{action: "delete an identity provider", want: onlyOrgAdmin(204, 403), right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response {
				return c.delete("/iam/v2/identity-providers/" + f.provider)
			}},
		{action: "list identity pools", want: by{200, 200, 200, 200, 403, 403}, right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response {
				return c.get("/iam/v2/identity-providers/" + f.provider + "/identity-pools")
			}},
		{action: "describe an identity pool", want: by{200, 200, 200, 200, 403, 403}, right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response { return c.get(f.poolPath()) }},
		{action: "create an identity pool", want: onlyOrgAdmin(201, 403), right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response {
				return c.post("/iam/v2/identity-providers/"+f.provider+"/identity-pools", map[string]any{"display_name": "new", "filter": "true"})
			}},
		{action: "update an identity pool", want: onlyOrgAdmin(200, 403), right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response {
				return c.patch(f.poolPath(), map[string]any{"filter": "false"})
			}},
		{action: "delete an identity pool", want: onlyOrgAdmin(204, 403), right: OrganizationAdmin,
			do: func(f *rightsFixture, c *caller) *response { return c.delete(f.poolPath()) }},

		// What anyone may read.
		{action: "list the roles", want: everyone(200),
			do: func(f *rightsFixture, c *caller) *response { return c.get("/iam/v2/roles") }},
		{action: "list the organization, environment and cluster", want: everyone(200),
			do: func(f *rightsFixture, c *caller) *response {
				for _, p := range []string{"/org/v2/organizations", "/org/v2/environments"} {
					if r := c.get(p); r.status != 200 {
						return r
					}
				}
				return c.get("/cmk/v2/clusters")
			}},
	}

	for _, row := range rows {
		for _, who := range everyCaller {
			if row.want.of(who) == 0 {
				t.Fatalf("%s: no expectation for %s", row.action, who)
			}
		}
	}
	for _, row := range rows {
		t.Run(row.action, func(t *testing.T) {
			for _, who := range everyCaller {
				t.Run(who, func(t *testing.T) {
					f := newRightsFixture(t)
					c := f.callers[who]
					r := row.do(f, c)
					want := row.want.of(who)
					if r.status != want {
						t.Fatalf("%s: status %d, want %d: %s", r.req, r.status, want, r.body)
					}
					if want == 403 {
						if d := r.detail(); !strings.Contains(d, row.right) {
							t.Errorf("403 detail %q does not name the right (%s)", d, row.right)
						}
					}
					if row.listed != nil && want == 200 {
						if got := r.list().Metadata.TotalSize; got != row.listed.of(who) {
							t.Errorf("%d listed, want %d", got, row.listed.of(who))
						}
					}
				})
			}
		})
	}
}

// whoIs names a caller of the fixture.
func whoIs(f *rightsFixture, c *caller) string {
	for who, x := range f.callers {
		if x == c {
			return who
		}
	}
	return ""
}

func TestAnOrganizationAdminRevokesAnothersButNeverItsOwn(t *testing.T) {
	e := newEnv(t)
	a := e.orgAdmin("a")
	b := e.orgAdmin("b")
	bindingOf := func(c *caller) string {
		t.Helper()
		l := a.get(q("/iam/v2/role-bindings", "principal", c.principal, "role_name", OrganizationAdmin)).want(200).list()
		if len(l.Data) != 1 {
			t.Fatalf("%s holds %d OrganizationAdmin bindings", c.id, len(l.Data))
		}
		return l.ids()[0]
	}
	aBinding, bBinding := bindingOf(a), bindingOf(b)

	// Beside another admin, still not its own.
	if d := a.delete("/iam/v2/role-bindings/" + aBinding).want(403).detail(); !strings.Contains(d, "your own OrganizationAdmin") {
		t.Errorf("detail %q", d)
	}
	a.delete("/iam/v2/role-bindings/" + bBinding).want(204)
	// b is no admin now, and nobody else can remove a's binding.
	b.delete("/iam/v2/role-bindings/" + aBinding).want(404)
	a.delete("/iam/v2/role-bindings/" + aBinding).want(403)
	a.get("/iam/v2/role-bindings/" + aBinding).want(200)
	// Nor its own account, which holds the binding.
	a.delete("/iam/v2/service-accounts/" + a.id).want(403)
}

func TestTheLastOrganizationAdminBindingIsNeverDeleted(t *testing.T) {
	e := newEnv(t)
	a := e.orgAdmin("a")
	local := e.localClient()
	binding := a.get(q("/iam/v2/role-bindings", "principal", a.principal)).want(200).list().ids()[0]
	if d := local.delete("/iam/v2/role-bindings/" + binding).want(409).detail(); !strings.Contains(d, "last OrganizationAdmin") {
		t.Errorf("detail %q", d)
	}
	// Deleting its account would delete the binding too.
	local.delete("/iam/v2/service-accounts/" + a.id).want(409)
	a.get("/iam/v2/role-bindings/" + binding).want(200)

	// With a second admin, the first can go.
	b := e.orgAdmin("b")
	local.delete("/iam/v2/role-bindings/" + binding).want(204)
	b.get("/iam/v2/service-accounts").want(200)
}

func TestABindingWhoseRoleDoesNotFitItsCRNGrantsNoManagementRight(t *testing.T) {
	// The API refuses such bindings, but the store takes them (from the
	// configuration file, or an older version).
	e := newEnv(t)
	e.orgAdmin("root")
	wide := e.caller("wide", roleOn{EnvironmentAdmin, orgCRN}, roleOn{CloudClusterAdmin, envCRN}, roleOn{ResourceOwner, clusterCRN})
	target := e.serviceAccount("target")
	wide.post("/iam/v2/role-bindings", bindingBody(wide.principal, OrganizationAdmin, orgCRN)).want(403)
	wide.post("/iam/v2/role-bindings", bindingBody(store.Principal(target), EnvironmentAdmin, envCRN)).want(403)
	wide.post("/iam/v2/role-bindings", bindingBody(store.Principal(target), DeveloperRead, topicCRN("x"))).want(403)
	wide.post(aclsPath, aclBody(store.Principal(target), "x", "READ")).want(403)
	wide.post("/iam/v2/api-keys", createKeyBody(target, "lkc-1")).want(403)
	wide.get("/iam/v2/identity-providers").want(403)
}

func TestAKeyActsWithItsOwnersCurrentBindings(t *testing.T) {
	e := newEnv(t)
	root := e.orgAdmin("root")
	ops := e.caller("ops", roleOn{CloudClusterAdmin, clusterCRN})
	ops.get(aclsPath).want(200)
	binding := root.get(q("/iam/v2/role-bindings", "principal", ops.principal)).want(200).list().ids()[0]
	root.delete("/iam/v2/role-bindings/" + binding).want(204)
	ops.get(aclsPath).want(403)
	root.post("/iam/v2/role-bindings", bindingBody(ops.principal, EnvironmentAdmin, envCRN)).want(201)
	ops.get(aclsPath).want(200)
}
