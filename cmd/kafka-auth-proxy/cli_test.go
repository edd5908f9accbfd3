package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/admin"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// isolate keeps a test away from the user's login context and
// environment.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	for _, k := range []string{urlEnv, apiKeyEnv, apiSecretEnv, tokenEnv, defaultConfigEnv} {
		t.Setenv(k, "")
	}
	return dir
}

// The scope of the test API.
const (
	testOrg     = "org-test"
	testEnv     = "env-test"
	testCluster = "lkc-test"
	testAdmin   = "sa-admin"
)

// testAPI is the real admin API over a memory store, behind a fake
// authenticator that takes one cloud key and one token.
type testAPI struct {
	url    string
	store  *store.Memory
	key    string
	secret string
	token  string
	// caFile holds the certificate of an HTTPS server.
	caFile string

	mu sync.Mutex
	// hits counts the requests by "METHOD path".
	hits map[string]int
	// auths are the Authorization headers received.
	auths []string
}

type fakeAuthenticator struct{ api *testAPI }

func (a fakeAuthenticator) AuthenticateHTTP(_ context.Context, _, authorization string) (*authn.Identity, error) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(a.api.key+":"+a.api.secret))
	switch authorization {
	case basic:
		return &authn.Identity{Principal: store.Principal(testAdmin), Mechanism: "PLAIN", APIKey: a.api.key, Account: testAdmin}, nil
	case "Bearer " + a.api.token:
		return &authn.Identity{Principal: store.Principal(testAdmin), Mechanism: "OAUTHBEARER", Subject: "admin"}, nil
	}
	return nil, errors.New("invalid credentials")
}

func newTestAPI(t *testing.T) *testAPI {
	t.Helper()
	return newTestAPIServer(t, false)
}

// newTestAPIServer is newTestAPI, served over HTTPS with a certificate of
// its own CA when tls is set.
func newTestAPIServer(t *testing.T, tls bool) *testAPI {
	t.Helper()
	api := &testAPI{store: store.NewMemory(), token: "tok-" + t.Name(), hits: map[string]int{}}
	var err error
	if api.key, err = apikey.NewKeyID(); err != nil {
		t.Fatal(err)
	}
	if api.secret, err = apikey.NewSecret(); err != nil {
		t.Fatal(err)
	}
	hash, err := apikey.HashSecret(api.secret)
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.store.Apply(context.Background(),
		store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: testAdmin}, DisplayName: "admin"}),
		store.Create(&store.APIKey{Metadata: store.Meta{ID: api.key}, SecretHash: hash, Owner: testAdmin, Resource: store.ResourceCloud}),
		store.Create(&store.RoleBinding{Metadata: store.Meta{ID: "rb-admin"}, Principal: store.Principal(testAdmin),
			RoleName: "OrganizationAdmin", CRNPattern: store.OrganizationCRN(testOrg)}))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := admin.New(admin.Options{
		Store:               api.store,
		Scope:               admin.Scope{Organization: testOrg, Environment: testEnv, Cluster: func() string { return testCluster }},
		Authenticator:       fakeAuthenticator{api},
		AllowedProviderURLs: []string{"https://login.example.com/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.mu.Lock()
		api.hits[r.Method+" "+r.URL.Path]++
		api.auths = append(api.auths, r.Header.Get("Authorization"))
		api.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	if tls {
		hs.StartTLS()
		api.caFile = filepath.Join(t.TempDir(), "ca.pem")
		pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})
		if err := os.WriteFile(api.caFile, pemData, 0o600); err != nil {
			t.Fatal(err)
		}
	} else {
		hs.Start()
	}
	t.Cleanup(hs.Close)
	api.url = hs.URL
	return api
}

func (api *testAPI) hitsOf(route string) int {
	api.mu.Lock()
	defer api.mu.Unlock()
	return api.hits[route]
}

func (api *testAPI) totalHits() int {
	api.mu.Lock()
	defer api.mu.Unlock()
	n := 0
	for _, c := range api.hits {
		n += c
	}
	return n
}

// args appends the flags that reach api with its cloud key.
func (api *testAPI) args(args ...string) []string {
	return append(args, "--url", api.url, "--api-key", api.key, "--api-secret", api.secret)
}

// run runs a command against api and fails the test on an error.
func (api *testAPI) run(t *testing.T, args ...string) string {
	t.Helper()
	return mustExecute(t, api.args(args...)...)
}

// fail runs a command against api that must fail, and returns its error.
func (api *testAPI) fail(t *testing.T, args ...string) error {
	t.Helper()
	out, err := execute(api.args(args...)...)
	if err == nil {
		t.Fatalf("%s succeeded:\n%s", strings.Join(args, " "), out)
	}
	return err
}

// createServiceAccount creates an account through the CLI and returns
// its id.
func (api *testAPI) createServiceAccount(t *testing.T, name string) string {
	t.Helper()
	var sa admin.ServiceAccount
	if err := json.Unmarshal([]byte(api.run(t, "iam", "service-account", "create", name, "-o", "json")), &sa); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sa.ID, "sa-") || sa.DisplayName != name {
		t.Fatalf("created %+v", sa)
	}
	return sa.ID
}

// tableRows are the cells of the lines of a human table.
func tableRows(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if !strings.HasPrefix(line, "  ") {
			continue
		}
		cells := strings.Split(line, " | ")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	return rows
}

// fieldOf is the value of a describe table's field.
func fieldOf(t *testing.T, out, name string) string {
	t.Helper()
	for _, r := range tableRows(out) {
		if len(r) == 2 && r[0] == name {
			return r[1]
		}
	}
	t.Fatalf("no field %q in:\n%s", name, out)
	return ""
}

func TestServiceAccountCommands(t *testing.T) {
	isolate(t)
	api := newTestAPI(t)
	id := api.createServiceAccount(t, "payments")

	out := api.run(t, "iam", "service-account", "describe", id)
	if fieldOf(t, out, "Name") != "payments" || fieldOf(t, out, "Version") != "1" || fieldOf(t, out, "Principal") != "User:"+id {
		t.Fatalf("describe:\n%s", out)
	}
	out = api.run(t, "iam", "service-account", "update", id, "--description", "payments, EU", "--if-version", "1")
	if fieldOf(t, out, "Description") != "payments, EU" || fieldOf(t, out, "Version") != "2" || fieldOf(t, out, "Name") != "payments" {
		t.Fatalf("update:\n%s", out)
	}
	// A stale version is refused, with the API's status and detail.
	err := api.fail(t, "iam", "service-account", "update", id, "--display-name", "other", "--if-version", "1")
	if !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("stale update: %v", err)
	}
	if err := api.fail(t, "iam", "service-account", "update", id); !strings.Contains(err.Error(), "nothing to update") {
		t.Fatalf("empty update: %v", err)
	}
	// The name is unique.
	if err := api.fail(t, "iam", "service-account", "create", "payments"); !strings.Contains(err.Error(), "409") {
		t.Fatalf("duplicate name: %v", err)
	}

	// The top-level service-account is the same command.
	rows := tableRows(api.run(t, "service-account", "list"))
	if len(rows) != 3 || strings.Join(rows[0], "|") != "ID|Name|Description" {
		t.Fatalf("list rows %q", rows)
	}
	found := false
	for _, r := range rows[1:] {
		found = found || (r[0] == id && r[1] == "payments" && r[2] == "payments, EU")
	}
	if !found {
		t.Fatalf("list rows %q lack %s", rows, id)
	}

	if err := api.fail(t, "iam", "service-account", "delete", id, "--if-version", "1"); !strings.Contains(err.Error(), "409") {
		t.Fatalf("stale delete: %v", err)
	}
	if out := api.run(t, "iam", "service-account", "delete", id, "--if-version", "2"); !strings.Contains(out, "Deleted service account") {
		t.Fatalf("delete: %s", out)
	}
	if err := api.fail(t, "iam", "service-account", "describe", id); !strings.Contains(err.Error(), "404") {
		t.Fatalf("describe after delete: %v", err)
	}
	// A path segment is escaped, never interpreted.
	if err := api.fail(t, "iam", "service-account", "describe", "../users"); !strings.Contains(err.Error(), "404") {
		t.Fatalf("describe ../users: %v", err)
	}
}

func TestUserCommands(t *testing.T) {
	isolate(t)
	api := newTestAPI(t)
	var u admin.User
	if err := json.Unmarshal([]byte(api.run(t, "iam", "user", "create", "--email", "alice@example.com", "--full-name", "Alice", "-o", "json")), &u); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.ID, "u-") || u.Email != "alice@example.com" {
		t.Fatalf("created %+v", u)
	}
	// user-account is iam user.
	rows := tableRows(api.run(t, "user-account", "list"))
	if len(rows) != 2 || strings.Join(rows[0], "|") != "ID|Email|Full Name" || strings.Join(rows[1], "|") != u.ID+"|alice@example.com|Alice" {
		t.Fatalf("list rows %q", rows)
	}
	if out := api.run(t, "iam", "user", "describe", u.ID); fieldOf(t, out, "Email") != "alice@example.com" {
		t.Fatalf("describe:\n%s", out)
	}
	api.run(t, "iam", "user", "delete", u.ID)
	if rows := tableRows(api.run(t, "iam", "user", "list")); len(rows) != 1 {
		t.Fatalf("after delete: %q", rows)
	}
}

// More accounts than fit a page are all listed.
func TestListFollowsPages(t *testing.T) {
	isolate(t)
	api := newTestAPI(t)
	var cmds []store.Command
	for i := range 250 {
		cmds = append(cmds, store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: fmt.Sprintf("sa-p%05d", i)}, DisplayName: fmt.Sprintf("app-%d", i)}))
	}
	if _, err := api.store.Apply(context.Background(), cmds...); err != nil {
		t.Fatal(err)
	}
	var all []admin.ServiceAccount
	if err := json.Unmarshal([]byte(api.run(t, "iam", "service-account", "list", "-o", "json")), &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 251 {
		t.Fatalf("listed %d accounts, want 251", len(all))
	}
	seen := map[string]bool{}
	for _, sa := range all {
		if seen[sa.ID] {
			t.Fatalf("%s listed twice", sa.ID)
		}
		seen[sa.ID] = true
	}
	if n := api.hitsOf("GET /iam/v2/service-accounts"); n != 3 {
		t.Fatalf("%d pages fetched, want 3 of 100", n)
	}
	out := api.run(t, "iam", "service-account", "list")
	if rows := tableRows(out); len(rows) != 252 || !strings.Contains(out, "app-249") || !strings.Contains(out, "app-0 ") {
		t.Fatalf("human list has %d rows", len(rows))
	}
}

func TestAPIKeySecretIsShownOnce(t *testing.T) {
	isolate(t)
	api := newTestAPI(t)
	sa := api.createServiceAccount(t, "payments")

	out := api.run(t, "api-key", "create", "--service-account", sa, "--resource", testCluster, "--description", "producer")
	key, secret := fieldOf(t, out, "API Key"), fieldOf(t, out, "API Secret")
	if !apikey.ValidKeyID(key) || len(secret) < 43 || !strings.Contains(out, "works at once") || !strings.Contains(out, "cannot be retrieved later") {
		t.Fatalf("create:\n%s", out)
	}
	if strings.Contains(out, "couple of minutes") {
		t.Fatalf("create says the key takes time:\n%s", out)
	}
	k, ok := api.store.Snapshot().APIKey(key)
	if !ok || k.Owner != sa || k.Resource != testCluster {
		t.Fatalf("stored key %+v", k)
	}
	if h, err := apikey.ParseHash(k.SecretHash); err != nil || !h.Verify(secret) {
		t.Fatalf("the printed secret does not verify: %v", err)
	}

	// -o json gives the answer, secret included, once.
	var created admin.APIKey
	if err := json.Unmarshal([]byte(api.run(t, "api-key", "create", "--service-account", sa, "--resource", "cloud", "-o", "json")), &created); err != nil {
		t.Fatal(err)
	}
	if created.Spec.Secret == "" || created.Spec.Resource.Kind != "Cloud" {
		t.Fatalf("json create %+v", created.Spec)
	}

	list := api.run(t, "api-key", "list", "--service-account", sa)
	rows := tableRows(list)
	if strings.Join(rows[0], "|") != "Key|Description|Owner|Resource Type|Resource|Created|Last Used" || len(rows) != 3 {
		t.Fatalf("list:\n%s", list)
	}
	for _, out := range []string{
		list,
		api.run(t, "api-key", "list", "-o", "json"),
		api.run(t, "api-key", "list", "-o", "yaml"),
		api.run(t, "api-key", "describe", key),
		api.run(t, "api-key", "describe", created.ID, "-o", "json"),
	} {
		if strings.Contains(out, secret) || strings.Contains(out, created.Spec.Secret) {
			t.Fatalf("a secret is shown again:\n%s", out)
		}
	}
	if rows := tableRows(api.run(t, "api-key", "list", "--resource", testCluster)); len(rows) != 2 || rows[1][0] != key || rows[1][3] != "Cluster" {
		t.Fatalf("list --resource: %q", rows)
	}

	out = api.run(t, "api-key", "update", key, "--description", "consumer")
	if fieldOf(t, out, "Description") != "consumer" {
		t.Fatalf("update:\n%s", out)
	}
	out = api.run(t, "api-key", "delete", key, created.ID)
	if strings.Count(out, "Deleted API key") != 2 {
		t.Fatalf("delete:\n%s", out)
	}
	if err := api.fail(t, "api-key", "delete", key); !strings.Contains(err.Error(), "404") {
		t.Fatalf("delete again: %v", err)
	}
}

func TestBuildScope(t *testing.T) {
	envOf := func(cluster string) (string, error) {
		if cluster == "lkc-1" {
			return "env-a", nil
		}
		return "", fmt.Errorf("cluster %s is not served here", cluster)
	}
	const pre = "crn://kafka-auth-proxy/organization=org-1"
	for _, tc := range []struct {
		name string
		sf   scopeFlags
		want string // the CRN, or the error's text after "error: "
	}{
		{"organization", scopeFlags{}, pre},
		{"environment", scopeFlags{environment: "env-b"}, pre + "/environment=env-b"},
		{"cloud cluster", scopeFlags{cloudCluster: "lkc-1"}, pre + "/environment=env-a/cloud-cluster=lkc-1"},
		{"kafka cluster", scopeFlags{kafkaCluster: "lkc-1"}, pre + "/environment=env-a/cloud-cluster=lkc-1"},
		{"both cluster flags", scopeFlags{cloudCluster: "lkc-1", kafkaCluster: "lkc-1"}, pre + "/environment=env-a/cloud-cluster=lkc-1"},
		{"environment given", scopeFlags{environment: "env-x", cloudCluster: "lkc-9"}, pre + "/environment=env-x/cloud-cluster=lkc-9"},
		{"topic", scopeFlags{kafkaCluster: "lkc-1", resource: "Topic:orders"}, pre + "/environment=env-a/cloud-cluster=lkc-1/kafka=lkc-1/topic=orders"},
		{"topic prefix", scopeFlags{kafkaCluster: "lkc-1", resource: "topic:payments-", prefix: true}, pre + "/environment=env-a/cloud-cluster=lkc-1/kafka=lkc-1/topic=payments-*"},
		{"group", scopeFlags{cloudCluster: "lkc-1", resource: "GROUP:billing"}, pre + "/environment=env-a/cloud-cluster=lkc-1/kafka=lkc-1/group=billing"},
		{"transactional id", scopeFlags{kafkaCluster: "lkc-1", environment: "env-a", resource: "TransactionalId:tx-", prefix: true}, pre + "/environment=env-a/cloud-cluster=lkc-1/kafka=lkc-1/transactional-id=tx-*"},
		{"every topic", scopeFlags{kafkaCluster: "lkc-1", resource: "Topic:*"}, pre + "/environment=env-a/cloud-cluster=lkc-1/kafka=lkc-1/topic=*"},
		{"name with a colon", scopeFlags{kafkaCluster: "lkc-1", resource: "Group:a:b"}, pre + "/environment=env-a/cloud-cluster=lkc-1/kafka=lkc-1/group=a:b"},
		{"resource without cluster", scopeFlags{resource: "Topic:orders"}, "error: --resource needs the cluster"},
		{"prefix without resource", scopeFlags{kafkaCluster: "lkc-1", prefix: true}, "error: --prefix needs --resource"},
		{"two clusters", scopeFlags{cloudCluster: "lkc-1", kafkaCluster: "lkc-2"}, "error: --cloud-cluster lkc-1 and --kafka-cluster lkc-2 must name the same cluster"},
		{"unknown cluster", scopeFlags{cloudCluster: "lkc-2"}, "error: cluster lkc-2 is not served here"},
		{"unknown type", scopeFlags{kafkaCluster: "lkc-1", resource: "Queue:x"}, `error: --resource "Queue:x": want TYPE:NAME`},
		{"no type", scopeFlags{kafkaCluster: "lkc-1", resource: "orders"}, `error: --resource "orders": want TYPE:NAME`},
		{"empty name", scopeFlags{kafkaCluster: "lkc-1", resource: "Topic:"}, "error: --resource \"Topic:\": the name is empty"},
		{"star inside", scopeFlags{kafkaCluster: "lkc-1", resource: "Topic:a*"}, "error: --resource \"Topic:a*\": a name may not contain *"},
		{"slash", scopeFlags{kafkaCluster: "lkc-1", resource: "Group:a/b"}, "error: --resource \"Group:a/b\": a resource name in a role binding may not contain /"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := buildScope("org-1", tc.sf, envOf)
			if want, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("got %v (%s), want an error %q", err, sc, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sc.String() != tc.want {
				t.Fatalf("got  %s\nwant %s", sc, tc.want)
			}
			// The CRN is one the store reads back as the same scope.
			back, err := store.ParseCRN(sc.String())
			if err != nil || back != sc {
				t.Fatalf("ParseCRN(%s) = %+v, %v; want %+v", sc, back, err, sc)
			}
		})
	}
}

func TestBindingRow(t *testing.T) {
	const pre = "crn://kafka-auth-proxy/organization=org-1"
	for _, tc := range []struct {
		crn  string
		want string
	}{
		{pre, "User:sa-1|R|Organization|org-1|"},
		{pre + "/environment=env-a", "User:sa-1|R|Environment|env-a|"},
		{pre + "/environment=env-a/cloud-cluster=lkc-1", "User:sa-1|R|Cluster|lkc-1|"},
		{pre + "/environment=env-a/cloud-cluster=lkc-1/kafka=lkc-1/topic=orders", "User:sa-1|R|Topic|orders|LITERAL"},
		{pre + "/environment=env-a/cloud-cluster=lkc-1/kafka=lkc-1/topic=pay-*", "User:sa-1|R|Topic|pay-|PREFIXED"},
		{pre + "/environment=env-a/cloud-cluster=lkc-1/kafka=lkc-1/group=*", "User:sa-1|R|Group|*|LITERAL"},
		{pre + "/environment=env-a/cloud-cluster=lkc-1/kafka=lkc-1/transactional-id=tx", "User:sa-1|R|TransactionalId|tx|LITERAL"},
		{"garbage", "User:sa-1|R||garbage|"},
	} {
		got := strings.Join(bindingRow(admin.RoleBinding{Principal: "User:sa-1", RoleName: "R", CRNPattern: tc.crn}), "|")
		if got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.crn, got, tc.want)
		}
	}
}

func TestRoleBindingCommands(t *testing.T) {
	isolate(t)
	api := newTestAPI(t)
	sa := api.createServiceAccount(t, "payments")
	principal := "User:" + sa

	var b admin.RoleBinding
	out := api.run(t, "iam", "rbac", "role-binding", "create", "--principal", principal, "--role", "DeveloperWrite",
		"--resource", "Topic:payments-", "--prefix", "--kafka-cluster", testCluster, "-o", "json")
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatal(err)
	}
	wantCRN := "crn://kafka-auth-proxy/organization=" + testOrg + "/environment=" + testEnv + "/cloud-cluster=" + testCluster +
		"/kafka=" + testCluster + "/topic=payments-*"
	if b.CRNPattern != wantCRN || b.RoleName != "DeveloperWrite" || b.Principal != principal || !strings.HasPrefix(b.ID, "rb-") {
		t.Fatalf("created %+v", b)
	}
	// A bare id is a principal too; a cluster-level role on the cluster.
	out = api.run(t, "iam", "rbac", "role-binding", "create", "--principal", sa, "--role", "CloudClusterAdmin", "--cloud-cluster", testCluster)
	if fieldOf(t, out, "ResourceType") != "Cluster" || fieldOf(t, out, "Name") != testCluster {
		t.Fatalf("create CloudClusterAdmin:\n%s", out)
	}

	out = api.run(t, "iam", "rbac", "role-binding", "list", "--principal", principal)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	want := []string{
		"  Principal      | Role              | ResourceType | Name      | PatternType",
		"  User:" + sa + " | CloudClusterAdmin | Cluster      | lkc-test  |",
		"  User:" + sa + " | DeveloperWrite    | Topic        | payments- | PREFIXED",
	}
	// Rows come in the API's order (by id): compare as a set.
	if len(lines) != 3 || lines[0] != want[0] || !(lines[1] == want[1] && lines[2] == want[2] || lines[1] == want[2] && lines[2] == want[1]) {
		t.Fatalf("list:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	// Inside a scope: the topic binding is inside the cluster.
	if rows := tableRows(api.run(t, "iam", "rbac", "role-binding", "list", "--role", "DeveloperWrite", "--kafka-cluster", testCluster)); len(rows) != 2 || rows[1][3] != "payments-" {
		t.Fatalf("list inside the cluster: %q", rows)
	}
	var listed []admin.RoleBinding
	if err := json.Unmarshal([]byte(api.run(t, "iam", "rbac", "role-binding", "list", "--principal", principal, "-o", "json")), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 2 || listed[0].ID == "" || listed[0].CRNPattern == "" {
		t.Fatalf("json list %+v", listed)
	}

	// Delete by principal, role and scope: the one binding.
	if err := api.fail(t, "iam", "rbac", "role-binding", "delete", "--principal", principal, "--role", "DeveloperWrite",
		"--resource", "Topic:payments-", "--kafka-cluster", testCluster); !strings.Contains(err.Error(), "no role binding") {
		t.Fatalf("delete of a literal binding that does not exist: %v", err)
	}
	out = api.run(t, "iam", "rbac", "role-binding", "delete", "--principal", principal, "--role", "DeveloperWrite",
		"--resource", "Topic:payments-", "--prefix", "--kafka-cluster", testCluster)
	if !strings.Contains(out, "Deleted role binding \""+b.ID+"\"") {
		t.Fatalf("delete:\n%s", out)
	}
	if err := api.fail(t, "iam", "rbac", "role-binding", "delete", "rb-x", "--role", "R"); !strings.Contains(err.Error(), "not both") {
		t.Fatalf("delete with an id and flags: %v", err)
	}
	// The role catalogue.
	rows := tableRows(api.run(t, "iam", "rbac", "role", "list"))
	if strings.Join(rows[0], "|") != "Name|Scope|Description" || len(rows) < 9 {
		t.Fatalf("role list %q", rows)
	}
	out = api.run(t, "iam", "rbac", "role", "describe", "DeveloperRead")
	if fieldOf(t, out, "Scope") != "resource" || !strings.Contains(out, "READ") {
		t.Fatalf("role describe:\n%s", out)
	}
	if err := api.fail(t, "iam", "rbac", "role", "describe", "Nobody"); !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown role: %v", err)
	}
}

func TestACLCommands(t *testing.T) {
	isolate(t)
	api := newTestAPI(t)
	sa := api.createServiceAccount(t, "audit")

	out := api.run(t, "kafka", "acl", "create", "--allow", "--service-account", sa, "--operations", "read,describe-configs", "--topic", "audit")
	rows := tableRows(out)
	if len(rows) != 3 || strings.Join(rows[0], "|") != "Principal|Permission|Operation|Resource Type|Resource Name|Pattern Type|Host" ||
		strings.Join(rows[1], "|") != "User:"+sa+"|ALLOW|READ|TOPIC|audit|LITERAL|*" || rows[2][2] != "DESCRIBE_CONFIGS" {
		t.Fatalf("create:\n%s", out)
	}
	api.run(t, "kafka", "acl", "create", "--deny", "--principal", "User:"+sa, "--operations", "Write", "--topic", "audit-", "--prefix", "--cluster", testCluster)
	api.run(t, "kafka", "acl", "create", "--allow", "--service-account", sa, "--operations", "idempotent-write", "--cluster-scope")

	var all []admin.ACL
	if err := json.Unmarshal([]byte(api.run(t, "kafka", "acl", "list", "-o", "json")), &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("listed %+v", all)
	}
	if rows := tableRows(api.run(t, "kafka", "acl", "list", "--topic", "audit-", "--prefix")); len(rows) != 2 || rows[1][1] != "DENY" || rows[1][5] != "PREFIXED" {
		t.Fatalf("list prefixed: %q", rows)
	}
	if err := api.fail(t, "kafka", "acl", "delete", "--operations", "read"); !strings.Contains(err.Error(), "principal or a resource") {
		t.Fatalf("delete without a filter: %v", err)
	}
	out = api.run(t, "kafka", "acl", "delete", "--service-account", sa, "--topic", "audit", "--operations", "read")
	if !strings.Contains(out, "Deleted 1 ACL") || len(tableRows(out)) != 2 {
		t.Fatalf("delete:\n%s", out)
	}
	if rows := tableRows(api.run(t, "kafka", "acl", "list", "--service-account", sa)); len(rows) != 4 {
		t.Fatalf("after delete: %q", rows)
	}
	for _, bad := range [][]string{
		{"--service-account", sa, "--operations", "read", "--topic", "t"},                               // no --allow/--deny
		{"--allow", "--deny", "--service-account", sa, "--operations", "read", "--topic", "t"},          // both
		{"--allow", "--service-account", sa, "--operations", "fly", "--topic", "t"},                     // unknown operation
		{"--allow", "--service-account", sa, "--operations", "read", "--topic", "t", "--cluster-scope"}, // two resources
		{"--allow", "--service-account", sa, "--operations", "read"},                                    // no resource
		{"--allow", "--operations", "read", "--topic", "t"},                                             // no principal
	} {
		if _, err := execute(api.args(append([]string{"kafka", "acl", "create"}, bad...)...)...); err == nil {
			t.Errorf("acl create %q succeeded", bad)
		}
	}
	if err := api.fail(t, "kafka", "acl", "list", "--cluster", "lkc-other"); !strings.Contains(err.Error(), "404") {
		t.Fatalf("another cluster: %v", err)
	}
}

func TestProviderAndPoolCommands(t *testing.T) {
	isolate(t)
	api := newTestAPI(t)
	var p admin.IdentityProvider
	out := api.run(t, "iam", "provider", "create", "corp", "--issuer-uri", "https://login.example.com/realms/kafka",
		"--audience", "kafka", "--audience", "admin", "-o", "json")
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.ID, "op-") || strings.Join(p.Audiences, ",") != "kafka,admin" {
		t.Fatalf("created %+v", p)
	}
	if err := api.fail(t, "iam", "provider", "create", "evil", "--issuer-uri", "https://evil.example.net/"); !strings.Contains(err.Error(), "400") {
		t.Fatalf("a provider outside the allowed URLs: %v", err)
	}
	out = api.run(t, "iam", "provider", "update", p.ID, "--audience", "kafka", "--description", "corporate SSO")
	if fieldOf(t, out, "Audiences") != "kafka" || fieldOf(t, out, "Description") != "corporate SSO" {
		t.Fatalf("update:\n%s", out)
	}
	if rows := tableRows(api.run(t, "iam", "provider", "list")); len(rows) != 2 || rows[1][0] != p.ID {
		t.Fatalf("list %q", rows)
	}

	var pool admin.IdentityPool
	out = api.run(t, "iam", "pool", "create", "analytics", "--provider", p.ID, "--filter", `"analytics" in claims.groups`, "-o", "json")
	if err := json.Unmarshal([]byte(out), &pool); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pool.ID, "pool-") || pool.Principal != "User:"+pool.ID || pool.Filter != `"analytics" in claims.groups` {
		t.Fatalf("created %+v", pool)
	}
	if err := api.fail(t, "iam", "pool", "list"); !strings.Contains(err.Error(), "--provider") {
		t.Fatalf("pool list without --provider: %v", err)
	}
	rows := tableRows(api.run(t, "iam", "pool", "list", "--provider", p.ID))
	if len(rows) != 2 || rows[1][0] != pool.ID || rows[1][2] != pool.Principal {
		t.Fatalf("pool list %q", rows)
	}
	out = api.run(t, "iam", "pool", "update", pool.ID, "--provider", p.ID, "--identity-claim", "claims.email")
	if fieldOf(t, out, "Identity Claim") != "claims.email" {
		t.Fatalf("pool update:\n%s", out)
	}
	if out := api.run(t, "iam", "pool", "describe", pool.ID, "--provider", p.ID); fieldOf(t, out, "Name") != "analytics" {
		t.Fatalf("pool describe:\n%s", out)
	}
	api.run(t, "iam", "pool", "delete", pool.ID, "--provider", p.ID)
	api.run(t, "iam", "provider", "delete", p.ID)
	if err := api.fail(t, "iam", "provider", "describe", p.ID); !strings.Contains(err.Error(), "404") {
		t.Fatalf("after delete: %v", err)
	}
}

// -o json and -o yaml give the API's objects, which parse.
func TestDataOutputsParse(t *testing.T) {
	isolate(t)
	api := newTestAPI(t)
	id := api.createServiceAccount(t, "true") // a name YAML would read as a boolean
	for _, args := range [][]string{
		{"iam", "service-account", "list"},
		{"iam", "service-account", "describe", id},
		{"iam", "rbac", "role-binding", "list"},
		{"iam", "rbac", "role", "describe", "DeveloperRead"},
		{"kafka", "acl", "list"},
	} {
		jsonOut := api.run(t, append(args, "-o", "json")...)
		var fromJSON any
		if err := json.Unmarshal([]byte(jsonOut), &fromJSON); err != nil {
			t.Fatalf("%s -o json: %v\n%s", args, err, jsonOut)
		}
		yamlOut := api.run(t, append(args, "-o", "yaml")...)
		var fromYAML any
		if err := yaml.Unmarshal([]byte(yamlOut), &fromYAML); err != nil {
			t.Fatalf("%s -o yaml: %v\n%s", args, err, yamlOut)
		}
		// The same value, but for YAML's own types of times and numbers.
		a, _ := json.Marshal(normalizeYAML(fromYAML))
		b, _ := json.Marshal(fromJSON)
		if string(a) != string(b) {
			t.Fatalf("%s: yaml and json differ:\n%s\n%s", args, a, b)
		}
		if y := strings.TrimSpace(yamlOut); y != "[]" && (strings.HasPrefix(y, "{") || strings.HasPrefix(y, "[")) {
			t.Fatalf("%s: yaml in flow style:\n%s", args, yamlOut)
		}
	}
	if _, err := execute(api.args("iam", "service-account", "list", "-o", "xml")...); err == nil || !strings.Contains(err.Error(), "human, json or yaml") {
		t.Fatalf("-o xml: %v", err)
	}
}

// normalizeYAML turns the ints of yaml.v3 into the float64 of
// encoding/json.
func normalizeYAML(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = normalizeYAML(x)
		}
	case []any:
		for i, x := range v {
			v[i] = normalizeYAML(x)
		}
	case int:
		return float64(v)
	}
	return v
}

func TestJSONToYAML(t *testing.T) {
	in := `{"b":"true","a":1,"c":"0123","d":null,"e":[],"f":{"x":"multi\nline"},"g":"2026-01-02T03:04:05Z","h":"-"}`
	out, err := jsonToYAML(json.RawMessage(in))
	if err != nil {
		t.Fatal(err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(out, &n); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := n.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got["b"] != "true" || got["a"] != 1 || got["c"] != "0123" || got["d"] != nil || got["g"] != "2026-01-02T03:04:05Z" || got["h"] != "-" {
		t.Fatalf("types changed: %#v\n%s", got, out)
	}
	// The keys keep the API's order.
	if !regexp.MustCompile(`(?s)^b: .*\na: 1\nc: `).Match(out) {
		t.Fatalf("key order:\n%s", out)
	}
}

func TestTableOutput(t *testing.T) {
	var b strings.Builder
	p, err := newPrinter(&b, outputHuman)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.table([]string{"Principal", "Role", "Name", "PatternType"}, [][]string{
		{"User:sa-a1b2c3", "DeveloperWrite", "payments-", "PREFIXED"},
		{"User:u-1", "CloudClusterAdmin", "lkc-1", ""},
		{"User:x\x1b[31m", "R", "ü", "\u202e"},
	}); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"  Principal      | Role              | Name      | PatternType\n" +
		"  User:sa-a1b2c3 | DeveloperWrite    | payments- | PREFIXED\n" +
		"  User:u-1       | CloudClusterAdmin | lkc-1     |\n" +
		"  User:x\\x1b[31m | R                 | ü         | \\u202e\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestLoginStoresAContext(t *testing.T) {
	cfgHome := isolate(t)
	api := newTestAPI(t)
	// Wrong credentials: refused, nothing stored.
	_, err := execute("login", "--url", api.url, "--api-key", api.key, "--api-secret", "wrong")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("login with a wrong secret: %v", err)
	}
	file := filepath.Join(cfgHome, "kafka-auth-proxy", "config.json")
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed login stored a context: %v", err)
	}
	if _, err := execute("login", "--url", api.url); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("login without credentials: %v", err)
	}

	out := mustExecute(t, "login", "--url", api.url+"/", "--api-key", api.key, "--api-secret", api.secret)
	if strings.TrimSpace(out) != "Logged in to "+api.url+" as "+testOrg+"." {
		t.Fatalf("login: %q", out)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("context file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(filepath.Dir(file))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("context directory mode %v, want 0700", di.Mode().Perm())
	}
	var lc loginContext
	data, _ := os.ReadFile(file)
	if err := json.Unmarshal(data, &lc); err != nil {
		t.Fatal(err)
	}
	if lc != (loginContext{URL: api.url, APIKey: api.key, APISecret: api.secret, Organization: testOrg}) {
		t.Fatalf("stored %+v", lc)
	}
	if entries, _ := os.ReadDir(filepath.Dir(file)); len(entries) != 1 {
		t.Fatalf("the directory holds %d files, want the context alone", len(entries))
	}

	// The next commands use it.
	if rows := tableRows(mustExecute(t, "iam", "service-account", "list")); len(rows) != 2 || rows[1][0] != testAdmin {
		t.Fatalf("list with the stored context: %q", rows)
	}
	// A token login replaces it, through the environment this time.
	t.Setenv(tokenEnv, api.token)
	t.Setenv(urlEnv, api.url)
	mustExecute(t, "login")
	t.Setenv(tokenEnv, "")
	t.Setenv(urlEnv, "")
	data, _ = os.ReadFile(file)
	lc = loginContext{}
	if err := json.Unmarshal(data, &lc); err != nil || lc.Token != api.token || lc.APIKey != "" || lc.APISecret != "" {
		t.Fatalf("after a token login: %+v %v", lc, err)
	}
	mustExecute(t, "iam", "service-account", "list")
	api.mu.Lock()
	last := api.auths[len(api.auths)-1]
	api.mu.Unlock()
	if last != "Bearer "+api.token {
		t.Fatalf("sent %q, want the token", last)
	}

	if out := mustExecute(t, "logout"); !strings.Contains(out, "Logged out of "+api.url) {
		t.Fatalf("logout: %q", out)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("logout left the file: %v", err)
	}
	if out := mustExecute(t, "logout"); !strings.Contains(out, "Not logged in") {
		t.Fatalf("second logout: %q", out)
	}
	if _, err := execute("iam", "service-account", "list"); err == nil || !strings.Contains(err.Error(), "login") {
		t.Fatalf("after logout: %v", err)
	}
}

// Flags win over the environment, which wins over the login context.
func TestTargetPrecedence(t *testing.T) {
	isolate(t)
	stored, envAPI, flagAPI := newTestAPI(t), newTestAPI(t), newTestAPI(t)
	mustExecute(t, "login", "--url", stored.url, "--api-key", stored.key, "--api-secret", stored.secret)

	hit := func(apis ...*testAPI) []int {
		var n []int
		for _, a := range apis {
			n = append(n, a.totalHits())
		}
		return n
	}
	list := []string{"iam", "service-account", "list"}
	before := hit(stored, envAPI, flagAPI)
	mustExecute(t, list...)
	if after := hit(stored, envAPI, flagAPI); after[0] == before[0] || after[1] != before[1] || after[2] != before[2] {
		t.Fatalf("context: hits %v -> %v", before, after)
	}

	t.Setenv(urlEnv, envAPI.url)
	t.Setenv(apiKeyEnv, envAPI.key)
	t.Setenv(apiSecretEnv, envAPI.secret)
	before = hit(stored, envAPI, flagAPI)
	mustExecute(t, list...)
	if after := hit(stored, envAPI, flagAPI); after[0] != before[0] || after[1] == before[1] || after[2] != before[2] {
		t.Fatalf("environment: hits %v -> %v", before, after)
	}

	before = hit(stored, envAPI, flagAPI)
	mustExecute(t, append(list, "--url", flagAPI.url, "--api-key", flagAPI.key, "--api-secret", flagAPI.secret)...)
	if after := hit(stored, envAPI, flagAPI); after[0] != before[0] || after[1] != before[1] || after[2] == before[2] {
		t.Fatalf("flags: hits %v -> %v", before, after)
	}
	// --api-key from the flags, its secret from the environment.
	t.Setenv(apiSecretEnv, flagAPI.secret)
	mustExecute(t, append(list, "--url", flagAPI.url, "--api-key", flagAPI.key)...)

	// The stored secret never goes to another URL.
	t.Setenv(apiKeyEnv, "")
	t.Setenv(apiSecretEnv, "")
	if _, err := execute(list...); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("the environment's URL without credentials: %v", err)
	}
	envAPI.mu.Lock()
	last := envAPI.auths[len(envAPI.auths)-1]
	envAPI.mu.Unlock()
	if last != "" {
		t.Fatalf("sent %q to a URL other than the context's", last)
	}
	// A state file given as a flag beats the context and the environment.
	t.Setenv(urlEnv, "")
	state := filepath.Join(t.TempDir(), "state.json")
	before = hit(stored, envAPI, flagAPI)
	mustExecute(t, "iam", "service-account", "create", "offline", "--state-file", state)
	if after := hit(stored, envAPI, flagAPI); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("--state-file went to an API: %v -> %v", before, after)
	}
}

func TestResolveTarget(t *testing.T) {
	ctx := &loginContext{URL: "https://ctx:8090", APIKey: "CTXKEY", APISecret: "ctx-secret", CAFile: "/ctx/ca.pem"}
	basic := func(k, s string) credentials { return credentials{APIKey: k, APISecret: s} }
	for _, tc := range []struct {
		name       string
		flags, env layer
		stored     *loginContext
		want       target
		err        string
	}{
		{name: "context", stored: ctx, want: target{URL: ctx.URL, Creds: basic("CTXKEY", "ctx-secret"), CAFile: "/ctx/ca.pem"}},
		{name: "context with a slash", flags: layer{url: "https://ctx:8090/"}, stored: ctx,
			want: target{URL: "https://ctx:8090/", Creds: basic("CTXKEY", "ctx-secret"), CAFile: "/ctx/ca.pem"}},
		{name: "env URL drops context credentials", env: layer{url: "https://env"}, stored: ctx, want: target{URL: "https://env"}},
		{name: "env over context", env: layer{url: "https://env", creds: basic("ENV", "env-s")}, stored: ctx,
			want: target{URL: "https://env", Creds: basic("ENV", "env-s")}},
		{name: "flags over env", flags: layer{url: "https://flag", creds: credentials{Token: "t"}},
			env: layer{url: "https://env", creds: basic("ENV", "env-s")}, stored: ctx,
			want: target{URL: "https://flag", Creds: credentials{Token: "t"}}},
		{name: "flag key, env secret", flags: layer{url: "https://flag", creds: credentials{APIKey: "K"}},
			env:  layer{creds: credentials{APISecret: "S", Token: "env-token"}},
			want: target{URL: "https://flag", Creds: basic("K", "S")}},
		{name: "env credentials for the context's URL", env: layer{creds: basic("ENV", "env-s")}, stored: ctx,
			want: target{URL: ctx.URL, Creds: basic("ENV", "env-s"), CAFile: "/ctx/ca.pem"}},
		{name: "flag state file over env URL and context", flags: layer{stateFile: "/s.json"}, env: layer{url: "https://env"}, stored: ctx,
			want: target{StateFile: "/s.json"}},
		{name: "env config over context", env: layer{configFile: "/p.yaml"}, stored: ctx, want: target{ConfigFile: "/p.yaml"}},
		{name: "env URL over env config", env: layer{url: "https://env", configFile: "/p.yaml"}, want: target{URL: "https://env"}},
		{name: "nothing", err: "no admin API"},
		{name: "url and state file", flags: layer{url: "https://x", stateFile: "/s"}, err: "exclude each other"},
		{name: "key without secret", flags: layer{url: "https://x", creds: credentials{APIKey: "K"}}, err: "--api-key needs --api-secret"},
		{name: "key and token", flags: layer{url: "https://x", creds: credentials{APIKey: "K", APISecret: "S", Token: "T"}}, err: "not both"},
		{name: "bad URL", flags: layer{url: "proxy:8090"}, err: "want http(s)://"},
		{name: "credentials in the URL", flags: layer{url: "https://u:p@x"}, err: "not in the URL"},
		{name: "credentials offline", flags: layer{stateFile: "/s", creds: credentials{Token: "T"}}, err: "offline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveTarget(tc.flags, tc.env, tc.stored)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %+v, %v; want an error with %q", got, err, tc.err)
				}
				if strings.Contains(fmt.Sprint(err), "p@") {
					t.Fatalf("the error shows the URL's password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestConnectionErrorsNameTheURL(t *testing.T) {
	isolate(t)
	hs := httptest.NewServer(http.NotFoundHandler())
	u := hs.URL
	hs.Close()
	_, err := execute("iam", "service-account", "list", "--url", u, "--api-key", "K", "--api-secret", "S")
	if err == nil || !strings.Contains(err.Error(), u) || strings.Contains(err.Error(), "S@") {
		t.Fatalf("got %v", err)
	}
	// A body that is not an error document is shown, shortened.
	hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream proxy says no", http.StatusBadGateway)
	}))
	defer hs.Close()
	_, err = execute("iam", "service-account", "list", "--url", hs.URL)
	if err == nil || !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "upstream proxy says no") {
		t.Fatalf("got %v", err)
	}
}

// Every problem of a 400 is shown.
func TestAllProblemsAreShown(t *testing.T) {
	isolate(t)
	api := newTestAPI(t)
	err := api.fail(t, "api-key", "create", "--service-account", "sa-nobody", "--resource", "lkc-nowhere")
	for _, want := range []string{"400 Bad Request", "sa-nobody", "lkc-nowhere", "\n  "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// Offline, with the proxy's configuration file (from
// $KAFKA_AUTH_PROXY_CONFIG here), the CLI manages cluster keys, role
// bindings and ACLs of the configured cluster.
func TestOfflineWithTheConfigFile(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	cfgFile := filepath.Join(dir, "proxy.yaml")
	yml := "upstream:\n  bootstrap: [127.0.0.1:1]\n" +
		"api_keys:\n  state_file: " + state + "\n" +
		"authentication:\n  cluster_id: lkc-offline\n" +
		"organization:\n  id: org-offline\n  environment: env-offline\n" +
		"metrics:\n  address: \"\"\n"
	if err := os.WriteFile(cfgFile, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(defaultConfigEnv, cfgFile)
	var sa admin.ServiceAccount
	if err := json.Unmarshal([]byte(mustExecute(t, "iam", "service-account", "create", "app", "-o", "json")), &sa); err != nil {
		t.Fatal(err)
	}
	// Without --resource, a key of the one cluster.
	out := mustExecute(t, "api-key", "create", "--service-account", sa.ID)
	if fieldOf(t, out, "Resource") != "lkc-offline" || fieldOf(t, out, "API Secret") == "" {
		t.Fatalf("api-key create:\n%s", out)
	}
	var b admin.RoleBinding
	out = mustExecute(t, "iam", "rbac", "role-binding", "create", "--principal", "User:"+sa.ID, "--role", "DeveloperRead",
		"--resource", "Topic:orders", "--kafka-cluster", "lkc-offline", "-o", "json")
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatal(err)
	}
	if want := "crn://kafka-auth-proxy/organization=org-offline/environment=env-offline/cloud-cluster=lkc-offline/kafka=lkc-offline/topic=orders"; b.CRNPattern != want {
		t.Fatalf("binding CRN %s, want %s", b.CRNPattern, want)
	}
	// The ACL goes to the one cluster without --cluster.
	mustExecute(t, "kafka", "acl", "create", "--allow", "--service-account", sa.ID, "--operations", "read", "--consumer-group", "orders-", "--prefix")

	f, err := store.OpenFile(state)
	if err != nil {
		t.Fatal(err)
	}
	snap := f.Snapshot()
	if len(snap.APIKeys()) != 1 || len(snap.RoleBindings()) != 1 || len(snap.ACLs()) != 1 ||
		snap.ACLs()[0].PatternType != "PREFIXED" || snap.ACLs()[0].Cluster != "lkc-offline" {
		t.Fatalf("state: %d keys, %d bindings, %d ACLs", len(snap.APIKeys()), len(snap.RoleBindings()), len(snap.ACLs()))
	}
	out = mustExecute(t, "iam", "rbac", "role-binding", "list", "--state-file", state, "--config", cfgFile)
	if rows := tableRows(out); len(rows) != 2 || strings.Join(rows[1], "|") != "User:"+sa.ID+"|DeveloperRead|Topic|orders|LITERAL" {
		t.Fatalf("offline list:\n%s", out)
	}
}

// An https URL with a private CA needs --ca-file, which the login
// context keeps.
func TestPrivateCA(t *testing.T) {
	isolate(t)
	api := newTestAPIServer(t, true)
	_, err := execute(api.args("iam", "service-account", "list")...)
	if err == nil || !strings.Contains(err.Error(), api.url) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without --ca-file: %v", err)
	}
	if rows := tableRows(api.run(t, "iam", "service-account", "list", "--ca-file", api.caFile)); len(rows) != 2 {
		t.Fatalf("with --ca-file: %q", rows)
	}
	if err := api.fail(t, "iam", "service-account", "list", "--ca-file", filepath.Join(t.TempDir(), "none.pem")); !strings.Contains(err.Error(), "--ca-file") {
		t.Fatalf("a missing --ca-file: %v", err)
	}
	mustExecute(t, api.args("login", "--ca-file", api.caFile)...)
	if rows := tableRows(mustExecute(t, "iam", "service-account", "list")); len(rows) != 2 {
		t.Fatalf("with the login context: %q", rows)
	}
}
