package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/admin"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// The routes of the IAM objects.
const (
	serviceAccountsPath = "/iam/v2/service-accounts"
	usersPath           = "/iam/v2/users"
	rolesPath           = "/iam/v2/roles"
	roleBindingsPath    = "/iam/v2/role-bindings"
	providersPath       = "/iam/v2/identity-providers"
	clustersPath        = "/cmk/v2/clusters"
)

func newIAMCmd() *cobra.Command {
	var f connFlags
	cmd := &cobra.Command{
		Use:   "iam",
		Short: "Manage identities and access: service accounts, users, role bindings, identity providers and pools",
		Long: `Manage identities and access through the admin API (--url, or the context
stored by ` + "`kafka-auth-proxy login`" + `), or offline on the state file of
--config or --state-file.`,
	}
	f.register(cmd)
	rbac := &cobra.Command{Use: "rbac", Short: "Manage roles and role bindings"}
	rbac.AddCommand(newRoleCmd(&f), newRoleBindingCmd(&f))
	cmd.AddCommand(serviceAccountCmd("service-account", &f), userCmd("user", &f), rbac,
		newProviderCmd(&f), newPoolCmd(&f))
	return cmd
}

// newServiceAccountCmd is `iam service-account` under another name, with
// its own connection flags: the top-level `service-account`.
func newServiceAccountCmd(use string) *cobra.Command {
	var f connFlags
	cmd := serviceAccountCmd(use, &f)
	cmd.Short += " (same as iam service-account)"
	f.register(cmd)
	return cmd
}

// newUserCmd is `iam user` under another name: the top-level
// `user-account`.
func newUserCmd(use string) *cobra.Command {
	var f connFlags
	cmd := userCmd(use, &f)
	cmd.Short += " (same as iam user)"
	f.register(cmd)
	return cmd
}

// metaFields are the describe lines of an object's metadata.
func metaFields(m admin.ObjectMeta) []field {
	return []field{
		{"Created", timeString(m.CreatedAt)},
		{"Updated", timeString(m.UpdatedAt)},
		{"Version", strconv.FormatUint(m.Version, 10)},
		{"Source", m.Source},
	}
}

// deleteObject deletes the object at path.
func deleteObject(ctx context.Context, s *session, path string, ifVersion uint64) error {
	_, err := s.client.call(ctx, request{method: http.MethodDelete, path: path, ifVersion: ifVersion}, nil)
	return err
}

// describeObject prints the object at path.
func describeObject[T any](ctx context.Context, s *session, path string, fieldsOf func(T) []field) error {
	raw, err := s.client.get(ctx, path, nil, nil)
	if err != nil {
		return err
	}
	return showObject(s.out, raw, fieldsOf)
}

// listObjects prints every object of a list.
func listObjects[T any](ctx context.Context, s *session, path string, query url.Values, header []string, rowOf func(T) []string) error {
	items, err := s.client.listAll(ctx, path, query)
	if err != nil {
		return err
	}
	return showList(s.out, items, header, rowOf)
}

// sendObject sends a create or update and prints the object answered.
func sendObject[T any](ctx context.Context, s *session, req request, fieldsOf func(T) []field) error {
	raw, err := s.client.call(ctx, req, nil)
	if err != nil {
		return err
	}
	return showObject(s.out, raw, fieldsOf)
}

// changedString is the value of a string flag when it was given.
func changedString(cmd *cobra.Command, name, value string) *string {
	if cmd.Flags().Changed(name) {
		return &value
	}
	return nil
}

// deleted says, for people, what was deleted.
func (s *session) deleted(noun, id string) {
	if s.out.human() {
		s.out.line("Deleted %s %q.", noun, id)
	}
}

// Service accounts.

func serviceAccountFields(sa admin.ServiceAccount) []field {
	return append([]field{
		{"ID", sa.ID},
		{"Name", sa.DisplayName},
		{"Description", sa.Description},
		{"Principal", store.Principal(sa.ID)},
	}, metaFields(sa.Metadata)...)
}

func serviceAccountCmd(use string, f *connFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: "Manage service accounts (sa-...), the identities of applications",
	}
	var description string
	create := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a service account",
		Example: `  kafka-auth-proxy iam service-account create payments --description "payments service"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				body := admin.ServiceAccountCreate{DisplayName: args[0], Description: description}
				return sendObject(ctx, s, request{method: http.MethodPost, path: serviceAccountsPath, body: body}, serviceAccountFields)
			})
		},
	}
	create.Flags().StringVar(&description, "description", "", "what the account is for")

	list := &cobra.Command{
		Use:   "list",
		Short: "List service accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				return listObjects(ctx, s, serviceAccountsPath, nil, []string{"ID", "Name", "Description"},
					func(sa admin.ServiceAccount) []string { return []string{sa.ID, sa.DisplayName, sa.Description} })
			})
		},
	}

	describe := &cobra.Command{
		Use:   "describe ID",
		Short: "Describe a service account",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := pathOf(serviceAccountsPath, args[0])
				if err != nil {
					return err
				}
				return describeObject(ctx, s, path, serviceAccountFields)
			})
		},
	}

	var upd struct {
		description, name string
		ifVersion         uint64
	}
	update := &cobra.Command{
		Use:     "update ID [--description D] [--display-name N] [--if-version V]",
		Short:   "Change a service account's name or description",
		Example: `  kafka-auth-proxy iam service-account update sa-a1b2c3 --description "payments, EU" --if-version 2`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := admin.ServiceAccountUpdate{
				DisplayName: changedString(cmd, "display-name", upd.name),
				Description: changedString(cmd, "description", upd.description),
			}
			if body.DisplayName == nil && body.Description == nil {
				return errors.New("nothing to update: pass --description or --display-name")
			}
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := pathOf(serviceAccountsPath, args[0])
				if err != nil {
					return err
				}
				return sendObject(ctx, s, request{method: http.MethodPatch, path: path, body: body, ifVersion: upd.ifVersion}, serviceAccountFields)
			})
		},
	}
	update.Flags().StringVar(&upd.description, "description", "", "the new description")
	update.Flags().StringVar(&upd.name, "display-name", "", "the new name")
	ifVersionFlag(update.Flags(), &upd.ifVersion)

	var delVersion uint64
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a service account with its API keys, role bindings and ACLs; their connections close",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := pathOf(serviceAccountsPath, args[0])
				if err != nil {
					return err
				}
				if err := deleteObject(ctx, s, path, delVersion); err != nil {
					return err
				}
				s.deleted("service account", args[0])
				return nil
			})
		},
	}
	ifVersionFlag(del.Flags(), &delVersion)

	cmd.AddCommand(create, list, describe, update, del)
	return cmd
}

func ifVersionFlag(fs *pflag.FlagSet, v *uint64) {
	fs.Uint64Var(v, "if-version", 0, "only if the object is at this version (metadata.version); refused otherwise")
}

// Users.

func userFields(u admin.User) []field {
	return append([]field{
		{"ID", u.ID},
		{"Email", u.Email},
		{"Full Name", u.FullName},
		{"Principal", store.Principal(u.ID)},
	}, metaFields(u.Metadata)...)
}

func userCmd(use string, f *connFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: "Manage user accounts (u-...), the identities of people",
	}
	var email, fullName string
	create := &cobra.Command{
		Use:     "create --email EMAIL [--full-name NAME]",
		Short:   "Create a user account",
		Example: `  kafka-auth-proxy iam user create --email alice@example.com --full-name "Alice Liddell"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				body := admin.UserCreate{Email: email, FullName: fullName}
				return sendObject(ctx, s, request{method: http.MethodPost, path: usersPath, body: body}, userFields)
			})
		},
	}
	create.Flags().StringVar(&email, "email", "", "the user's email address")
	create.Flags().StringVar(&fullName, "full-name", "", "the user's name")
	_ = create.MarkFlagRequired("email")

	list := &cobra.Command{
		Use:   "list",
		Short: "List user accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				return listObjects(ctx, s, usersPath, nil, []string{"ID", "Email", "Full Name"},
					func(u admin.User) []string { return []string{u.ID, u.Email, u.FullName} })
			})
		},
	}

	describe := &cobra.Command{
		Use:   "describe ID",
		Short: "Describe a user account",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := pathOf(usersPath, args[0])
				if err != nil {
					return err
				}
				return describeObject(ctx, s, path, userFields)
			})
		},
	}

	var delVersion uint64
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a user account with its API keys, role bindings and ACLs; their connections close",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := pathOf(usersPath, args[0])
				if err != nil {
					return err
				}
				if err := deleteObject(ctx, s, path, delVersion); err != nil {
					return err
				}
				s.deleted("user", args[0])
				return nil
			})
		},
	}
	ifVersionFlag(del.Flags(), &delVersion)

	cmd.AddCommand(create, list, describe, del)
	return cmd
}

// Roles.

func newRoleCmd(f *connFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "role", Short: "List the roles and what they grant"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				return listObjects(ctx, s, rolesPath, nil, []string{"Name", "Scope", "Description"},
					func(r admin.Role) []string { return []string{r.Name, r.Scope, r.Description} })
			})
		},
	}
	describe := &cobra.Command{
		Use:     "describe NAME",
		Short:   "Describe a role: the operations it grants on each resource type",
		Example: `  kafka-auth-proxy iam rbac role describe DeveloperRead`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := pathOf(rolesPath, args[0])
				if err != nil {
					return err
				}
				raw, err := s.client.get(ctx, path, nil, nil)
				if err != nil {
					return err
				}
				if !s.out.human() {
					return s.out.raw(raw)
				}
				var r admin.Role
				if err := json.Unmarshal(raw, &r); err != nil {
					return fmt.Errorf("GET %s: unexpected answer: %w", path, err)
				}
				if err := s.out.fields([]field{{"Name", r.Name}, {"Scope", r.Scope}, {"Description", r.Description}}); err != nil {
					return err
				}
				s.out.line("")
				rows := make([][]string, 0, len(r.Grants))
				for _, g := range r.Grants {
					rows = append(rows, []string{g.ResourceType, strings.Join(g.Operations, ", ")})
				}
				return s.out.table([]string{"ResourceType", "Operations"}, rows)
			})
		},
	}
	cmd.AddCommand(list, describe)
	return cmd
}

// Role bindings.

// scopeFlags name the scope of a role binding, as Confluent's CLI does.
type scopeFlags struct {
	environment  string
	cloudCluster string
	kafkaCluster string
	// resource is TYPE:NAME, e.g. Topic:orders.
	resource string
	prefix   bool
}

func (sf *scopeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&sf.environment, "environment", "", "an environment (env-...); default: the cluster's")
	fs.StringVar(&sf.cloudCluster, "cloud-cluster", "", "a cluster (lkc-...)")
	fs.StringVar(&sf.kafkaCluster, "kafka-cluster", "", "a cluster (lkc-...), the same as --cloud-cluster")
	fs.StringVar(&sf.resource, "resource", "", "a resource in the cluster, TYPE:NAME: Topic:orders, Group:billing, TransactionalId:tx-1")
	fs.BoolVar(&sf.prefix, "prefix", false, "the resource name is a prefix")
}

// any reports whether a scope flag was given.
func (sf scopeFlags) any() bool {
	return sf.environment != "" || sf.cloudCluster != "" || sf.kafkaCluster != "" || sf.resource != "" || sf.prefix
}

// crnResourceTypes maps the resource types of --resource, in lower case,
// to CRN segments.
var crnResourceTypes = map[string]string{
	"topic":            store.CRNTopic,
	"group":            store.CRNGroup,
	"consumergroup":    store.CRNGroup,
	"consumer-group":   store.CRNGroup,
	"transactionalid":  store.CRNTransactionalID,
	"transactional-id": store.CRNTransactionalID,
}

// resourceTypeNames are how role-binding lists name CRN resource types.
var resourceTypeNames = map[string]string{
	store.CRNTopic:           "Topic",
	store.CRNGroup:           "Group",
	store.CRNTransactionalID: "TransactionalId",
}

// buildScope is the scope the flags name in organization org. envOf
// returns the environment of a cluster; it is called only for a cluster
// flag without --environment.
func buildScope(org string, sf scopeFlags, envOf func(cluster string) (string, error)) (store.Scope, error) {
	sc := store.Scope{Organization: org}
	cluster := sf.cloudCluster
	if sf.kafkaCluster != "" {
		if cluster != "" && cluster != sf.kafkaCluster {
			return sc, fmt.Errorf("--cloud-cluster %s and --kafka-cluster %s must name the same cluster", cluster, sf.kafkaCluster)
		}
		cluster = sf.kafkaCluster
	}
	if sf.prefix && sf.resource == "" {
		return sc, errors.New("--prefix needs --resource")
	}
	if sf.resource != "" && cluster == "" {
		return sc, errors.New("--resource needs the cluster it is in: pass --kafka-cluster (or --cloud-cluster)")
	}
	sc.Environment = sf.environment
	if cluster != "" {
		sc.CloudCluster = cluster
		if sc.Environment == "" {
			env, err := envOf(cluster)
			if err != nil {
				return sc, err
			}
			sc.Environment = env
		}
	}
	if sf.resource != "" {
		typ, name, ok := strings.Cut(sf.resource, ":")
		seg, known := crnResourceTypes[strings.ToLower(strings.TrimSpace(typ))]
		if !ok || !known {
			return sc, fmt.Errorf("--resource %q: want TYPE:NAME with TYPE Topic, Group or TransactionalId", sf.resource)
		}
		switch {
		case name == "":
			return sc, fmt.Errorf("--resource %q: the name is empty", sf.resource)
		case strings.Contains(name, "/"):
			return sc, fmt.Errorf("--resource %q: a resource name in a role binding may not contain /", sf.resource)
		case name == "*" && sf.prefix:
			return sc, fmt.Errorf("--resource %q: * is every resource already; drop --prefix", sf.resource)
		case name != "*" && strings.Contains(name, "*"):
			return sc, fmt.Errorf("--resource %q: a name may not contain *; pass --prefix for a prefix, or * alone for every %s", sf.resource, typ)
		}
		sc.Kafka = cluster
		sc.ResourceType, sc.ResourceName, sc.Prefix = seg, name, sf.prefix
	}
	return sc, nil
}

// resolveScope is buildScope with the organization and the clusters'
// environments taken from the API.
func resolveScope(ctx context.Context, c *apiClient, sf scopeFlags) (store.Scope, error) {
	org, err := organization(ctx, c)
	if err != nil {
		return store.Scope{}, err
	}
	return buildScope(org, sf, func(cluster string) (string, error) { return clusterEnvironment(ctx, c, cluster) })
}

// defaultScope is the scope of a binding created without scope flags: the
// organization for an organization role, and the one environment or
// cluster of the proxy for an environment or cluster role, as in
// Confluent's CLI, where such roles apply to the cluster in use.
func defaultScope(ctx context.Context, c *apiClient, roleName string, org store.Scope) (store.Scope, error) {
	var r admin.Role
	if _, err := c.get(ctx, rolesPath+"/"+url.PathEscape(roleName), nil, &r); err != nil {
		return org, err
	}
	if r.Scope != "cluster" && r.Scope != "environment" {
		return org, nil
	}
	clusters, err := listClusters(ctx, c)
	if err != nil {
		return org, err
	}
	if len(clusters) != 1 {
		return org, fmt.Errorf("%s is bound to a %s: pass --environment or --cloud-cluster (this API serves %d clusters)", roleName, r.Scope, len(clusters))
	}
	sc := org
	sc.Environment = clusters[0].Spec.Environment.ID
	if r.Scope == "cluster" {
		sc.CloudCluster = clusters[0].ID
	}
	return sc, nil
}

// listClusters is every cluster the API serves.
func listClusters(ctx context.Context, c *apiClient) ([]admin.Cluster, error) {
	items, err := c.listAll(ctx, clustersPath, nil)
	if err != nil {
		return nil, err
	}
	return decodeAll[admin.Cluster](items)
}

// clusterEnvironment is the environment of a cluster.
func clusterEnvironment(ctx context.Context, c *apiClient, cluster string) (string, error) {
	clusters, err := listClusters(ctx, c)
	if err != nil {
		return "", err
	}
	ids := make([]string, 0, len(clusters))
	for _, cl := range clusters {
		if cl.ID == cluster {
			if cl.Spec.Environment.ID == "" {
				return "", fmt.Errorf("cluster %s has no environment; pass --environment", cluster)
			}
			return cl.Spec.Environment.ID, nil
		}
		ids = append(ids, cl.ID)
	}
	return "", fmt.Errorf("cluster %s is not served here (the clusters are %s)", cluster, orNone(strings.Join(ids, ", ")))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// normalizePrincipal adds User: to a bare account or pool id.
func normalizePrincipal(p string) string {
	if p != "" && !strings.Contains(p, ":") {
		return store.Principal(p)
	}
	return p
}

// bindingRow is a role binding in Confluent's columns: Principal, Role,
// ResourceType, Name, PatternType.
func bindingRow(b admin.RoleBinding) []string {
	sc, err := store.ParseCRN(b.CRNPattern)
	if err != nil {
		return []string{b.Principal, b.RoleName, "", b.CRNPattern, ""}
	}
	switch {
	case sc.ResourceType != "":
		pattern := "LITERAL"
		if sc.Prefix {
			pattern = "PREFIXED"
		}
		typ := resourceTypeNames[sc.ResourceType]
		if typ == "" {
			typ = sc.ResourceType
		}
		return []string{b.Principal, b.RoleName, typ, sc.ResourceName, pattern}
	case sc.CloudCluster != "":
		return []string{b.Principal, b.RoleName, "Cluster", sc.CloudCluster, ""}
	case sc.Environment != "":
		return []string{b.Principal, b.RoleName, "Environment", sc.Environment, ""}
	}
	return []string{b.Principal, b.RoleName, "Organization", sc.Organization, ""}
}

var bindingHeader = []string{"Principal", "Role", "ResourceType", "Name", "PatternType"}

func bindingFields(b admin.RoleBinding) []field {
	row := bindingRow(b)
	fs := []field{{"ID", b.ID}}
	for i, name := range bindingHeader {
		fs = append(fs, field{name, row[i]})
	}
	return append(fs, field{"CRN Pattern", b.CRNPattern})
}

func newRoleBindingCmd(f *connFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "role-binding",
		Short: "Grant and revoke roles",
	}

	var (
		principal, roleName string
		sf                  scopeFlags
	)
	create := &cobra.Command{
		Use:   "create --principal User:ID --role ROLE [scope flags]",
		Short: "Grant a role to a principal on the organization, an environment, a cluster or resources",
		Long: `Grant a role. The scope is the organization without scope flags, an
environment with --environment, a cluster with --cloud-cluster or
--kafka-cluster (its environment is looked up), and resources of the cluster
with --resource TYPE:NAME (--prefix for every name that starts with NAME).`,
		Example: `  kafka-auth-proxy iam rbac role-binding create --principal User:sa-a1b2c3 --role DeveloperWrite \
      --resource Topic:payments- --prefix --kafka-cluster lkc-prod1
  kafka-auth-proxy iam rbac role-binding create --principal User:u-a03bcd --role CloudClusterAdmin --cloud-cluster lkc-prod1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				sc, err := resolveScope(ctx, s.client, sf)
				if err != nil {
					return err
				}
				if !sf.any() {
					if sc, err = defaultScope(ctx, s.client, roleName, sc); err != nil {
						return err
					}
				}
				body := admin.RoleBindingCreate{Principal: normalizePrincipal(principal), RoleName: roleName, CRNPattern: sc.String()}
				return sendObject(ctx, s, request{method: http.MethodPost, path: roleBindingsPath, body: body}, bindingFields)
			})
		},
	}
	create.Flags().StringVar(&principal, "principal", "", "who gets the role: User:sa-..., User:u-... or User:pool-...")
	create.Flags().StringVar(&roleName, "role", "", "the role, e.g. DeveloperRead (see `iam rbac role list`)")
	sf.register(create.Flags())
	_ = create.MarkFlagRequired("principal")
	_ = create.MarkFlagRequired("role")

	var (
		listPrincipal, listRole string
		listScope               scopeFlags
	)
	list := &cobra.Command{
		Use:   "list [--principal P] [--role R] [scope flags]",
		Short: "List role bindings, optionally of a principal, a role or inside a scope",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				q := url.Values{}
				if listPrincipal != "" {
					q.Set("principal", normalizePrincipal(listPrincipal))
				}
				if listRole != "" {
					q.Set("role_name", listRole)
				}
				if listScope.any() {
					sc, err := resolveScope(ctx, s.client, listScope)
					if err != nil {
						return err
					}
					q.Set("crn_pattern", sc.String())
				}
				return listObjects(ctx, s, roleBindingsPath, q, bindingHeader, bindingRow)
			})
		},
	}
	list.Flags().StringVar(&listPrincipal, "principal", "", "only the bindings of this principal")
	list.Flags().StringVar(&listRole, "role", "", "only the bindings of this role")
	listScope.register(list.Flags())

	describe := &cobra.Command{
		Use:   "describe ID",
		Short: "Describe a role binding",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := pathOf(roleBindingsPath, args[0])
				if err != nil {
					return err
				}
				return describeObject(ctx, s, path, bindingFields)
			})
		},
	}

	var (
		delPrincipal, delRole string
		delScope              scopeFlags
		delVersion            uint64
	)
	del := &cobra.Command{
		Use:   "delete (ID | --principal P --role R [scope flags])",
		Short: "Revoke a role: the binding of an id, or the one binding of a principal, role and scope",
		Example: `  kafka-auth-proxy iam rbac role-binding delete rb-k3x9q0
  kafka-auth-proxy iam rbac role-binding delete --principal User:sa-a1b2c3 --role DeveloperRead --resource Topic:orders --kafka-cluster lkc-prod1`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			byFlags := delPrincipal != "" || delRole != "" || delScope.any()
			switch {
			case len(args) == 1 && byFlags:
				return errors.New("pass a role binding id or --principal and --role, not both")
			case len(args) == 0 && (delPrincipal == "" || delRole == ""):
				return errors.New("pass a role binding id, or --principal and --role (and the scope flags of the binding)")
			}
			return f.run(cmd, func(ctx context.Context, s *session) error {
				id := ""
				if len(args) == 1 {
					id = args[0]
				} else {
					var err error
					if id, err = findBinding(ctx, s.client, normalizePrincipal(delPrincipal), delRole, delScope); err != nil {
						return err
					}
				}
				path, err := pathOf(roleBindingsPath, id)
				if err != nil {
					return err
				}
				if err := deleteObject(ctx, s, path, delVersion); err != nil {
					return err
				}
				s.deleted("role binding", id)
				return nil
			})
		},
	}
	del.Flags().StringVar(&delPrincipal, "principal", "", "the binding's principal")
	del.Flags().StringVar(&delRole, "role", "", "the binding's role")
	delScope.register(del.Flags())
	ifVersionFlag(del.Flags(), &delVersion)

	cmd.AddCommand(create, list, describe, del)
	return cmd
}

// findBinding is the id of the one binding of role to principal on the
// scope of sf.
func findBinding(ctx context.Context, c *apiClient, principal, role string, sf scopeFlags) (string, error) {
	sc, err := resolveScope(ctx, c, sf)
	if err != nil {
		return "", err
	}
	if !sf.any() {
		if sc, err = defaultScope(ctx, c, role, sc); err != nil {
			return "", err
		}
	}
	crn := sc.String()
	items, err := c.listAll(ctx, roleBindingsPath, url.Values{"principal": {principal}, "role_name": {role}, "crn_pattern": {crn}})
	if err != nil {
		return "", err
	}
	bindings, err := decodeAll[admin.RoleBinding](items)
	if err != nil {
		return "", err
	}
	// The API lists what is inside the scope; the binding is the one on
	// the scope itself.
	var ids []string
	for _, b := range bindings {
		if b.Principal == principal && b.RoleName == role && b.CRNPattern == crn {
			ids = append(ids, b.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("no role binding of %s to %s on %s", role, principal, crn)
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("%d role bindings of %s to %s on %s (%s): delete one by id", len(ids), role, principal, crn, strings.Join(ids, ", "))
}

// Identity providers.

func providerFields(p admin.IdentityProvider) []field {
	return append([]field{
		{"ID", p.ID},
		{"Name", p.DisplayName},
		{"Description", p.Description},
		{"Issuer", p.Issuer},
		{"JWKS URI", p.JWKSURI},
		{"Audiences", strings.Join(p.Audiences, ", ")},
		{"State", p.State},
	}, metaFields(p.Metadata)...)
}

// nonEmpty drops empty values, so that --audience "" clears a list.
func nonEmpty(vs []string) []string {
	out := []string{}
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}

func newProviderCmd(f *connFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "provider",
		Short: "Manage OpenID Connect identity providers (op-...), whose tokens identity pools accept",
	}
	var in struct {
		description, issuer, jwks, name string
		audiences                       []string
		ifVersion                       uint64
	}
	create := &cobra.Command{
		Use:     "create NAME --issuer-uri URL [--jwks-uri URL] [--audience A]...",
		Short:   "Register an identity provider",
		Example: `  kafka-auth-proxy iam provider create corp --issuer-uri https://login.example.com/realms/kafka --audience kafka`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				body := admin.IdentityProviderCreate{DisplayName: args[0], Description: in.description, Issuer: in.issuer,
					JWKSURI: in.jwks, Audiences: nonEmpty(in.audiences)}
				return sendObject(ctx, s, request{method: http.MethodPost, path: providersPath, body: body}, providerFields)
			})
		},
	}
	create.Flags().StringVar(&in.issuer, "issuer-uri", "", "the provider's issuer, the exact iss of its tokens")
	create.Flags().StringVar(&in.jwks, "jwks-uri", "", "where the provider publishes its keys (default: discovered from the issuer)")
	create.Flags().StringArrayVar(&in.audiences, "audience", nil, "an accepted audience (repeat for several)")
	create.Flags().StringVar(&in.description, "description", "", "what the provider is")
	_ = create.MarkFlagRequired("issuer-uri")

	list := &cobra.Command{
		Use:   "list",
		Short: "List identity providers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				return listObjects(ctx, s, providersPath, nil, []string{"ID", "Name", "Issuer", "State", "Description"},
					func(p admin.IdentityProvider) []string {
						return []string{p.ID, p.DisplayName, p.Issuer, p.State, p.Description}
					})
			})
		},
	}

	describe := &cobra.Command{
		Use:   "describe ID",
		Short: "Describe an identity provider",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := pathOf(providersPath, args[0])
				if err != nil {
					return err
				}
				return describeObject(ctx, s, path, providerFields)
			})
		},
	}

	update := &cobra.Command{
		Use:   "update ID [--display-name N] [--description D] [--issuer-uri URL] [--jwks-uri URL] [--audience A]...",
		Short: "Change an identity provider",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := admin.IdentityProviderUpdate{
				DisplayName: changedString(cmd, "display-name", in.name),
				Description: changedString(cmd, "description", in.description),
				Issuer:      changedString(cmd, "issuer-uri", in.issuer),
				JWKSURI:     changedString(cmd, "jwks-uri", in.jwks),
			}
			if cmd.Flags().Changed("audience") {
				a := nonEmpty(in.audiences)
				body.Audiences = &a
			}
			if body.DisplayName == nil && body.Description == nil && body.Issuer == nil && body.JWKSURI == nil && body.Audiences == nil {
				return errors.New("nothing to update: pass --display-name, --description, --issuer-uri, --jwks-uri or --audience")
			}
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := pathOf(providersPath, args[0])
				if err != nil {
					return err
				}
				return sendObject(ctx, s, request{method: http.MethodPatch, path: path, body: body, ifVersion: in.ifVersion}, providerFields)
			})
		},
	}
	update.Flags().StringVar(&in.name, "display-name", "", "the new name")
	update.Flags().StringVar(&in.description, "description", "", "the new description")
	update.Flags().StringVar(&in.issuer, "issuer-uri", "", "the new issuer")
	update.Flags().StringVar(&in.jwks, "jwks-uri", "", "the new keys URL (\"\" to discover it from the issuer)")
	update.Flags().StringArrayVar(&in.audiences, "audience", nil, "the accepted audiences, replacing the list (repeat for several; \"\" for none)")
	ifVersionFlag(update.Flags(), &in.ifVersion)

	var delVersion uint64
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an identity provider and its identity pools; their connections close",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := pathOf(providersPath, args[0])
				if err != nil {
					return err
				}
				if err := deleteObject(ctx, s, path, delVersion); err != nil {
					return err
				}
				s.deleted("identity provider", args[0])
				return nil
			})
		},
	}
	ifVersionFlag(del.Flags(), &delVersion)

	cmd.AddCommand(create, list, describe, update, del)
	return cmd
}

// Identity pools.

func poolFields(p admin.IdentityPool) []field {
	return append([]field{
		{"ID", p.ID},
		{"Name", p.DisplayName},
		{"Description", p.Description},
		{"Identity Claim", p.IdentityClaim},
		{"Filter", p.Filter},
		{"Principal", p.Principal},
		{"State", p.State},
	}, metaFields(p.Metadata)...)
}

func newPoolCmd(f *connFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pool",
		Short: "Manage identity pools (pool-...): the tokens of a provider that pass a filter, as one principal",
	}
	var provider string
	// poolsPath is the pools route of --provider, with the pool id when
	// one is given.
	poolsPath := func(ids ...string) (string, error) {
		if provider == "" {
			return "", errors.New("--provider is required")
		}
		return pathOf(providersPath, append([]string{provider, "identity-pools"}, ids...)...)
	}
	cmd.PersistentFlags().StringVar(&provider, "provider", "", "the pool's identity provider (op-...)")

	var in struct {
		description, claim, filter, name string
		ifVersion                        uint64
	}
	create := &cobra.Command{
		Use:   "create NAME --provider op-... --filter EXPR [--identity-claim EXPR]",
		Short: "Create an identity pool",
		Example: `  kafka-auth-proxy iam pool create analytics --provider op-x1 --identity-claim claims.sub \
      --filter '"analytics" in claims.groups'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := poolsPath()
			if err != nil {
				return err
			}
			return f.run(cmd, func(ctx context.Context, s *session) error {
				body := admin.IdentityPoolCreate{DisplayName: args[0], Description: in.description, IdentityClaim: in.claim, Filter: in.filter}
				return sendObject(ctx, s, request{method: http.MethodPost, path: path, body: body}, poolFields)
			})
		},
	}
	create.Flags().StringVar(&in.claim, "identity-claim", "", "CEL expression of the token's identity (default claims.sub)")
	create.Flags().StringVar(&in.filter, "filter", "", "CEL expression over claims that the pool's tokens pass")
	create.Flags().StringVar(&in.description, "description", "", "what the pool is for")
	_ = create.MarkFlagRequired("filter")

	list := &cobra.Command{
		Use:   "list --provider op-...",
		Short: "List the identity pools of a provider",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := poolsPath()
			if err != nil {
				return err
			}
			return f.run(cmd, func(ctx context.Context, s *session) error {
				return listObjects(ctx, s, path, nil, []string{"ID", "Name", "Principal", "Identity Claim", "Filter", "State"},
					func(p admin.IdentityPool) []string {
						return []string{p.ID, p.DisplayName, p.Principal, p.IdentityClaim, p.Filter, p.State}
					})
			})
		},
	}

	describe := &cobra.Command{
		Use:   "describe ID --provider op-...",
		Short: "Describe an identity pool",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := poolsPath(args[0])
			if err != nil {
				return err
			}
			return f.run(cmd, func(ctx context.Context, s *session) error {
				return describeObject(ctx, s, path, poolFields)
			})
		},
	}

	update := &cobra.Command{
		Use:   "update ID --provider op-... [--display-name N] [--description D] [--identity-claim EXPR] [--filter EXPR]",
		Short: "Change an identity pool",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := poolsPath(args[0])
			if err != nil {
				return err
			}
			body := admin.IdentityPoolUpdate{
				DisplayName:   changedString(cmd, "display-name", in.name),
				Description:   changedString(cmd, "description", in.description),
				IdentityClaim: changedString(cmd, "identity-claim", in.claim),
				Filter:        changedString(cmd, "filter", in.filter),
			}
			if body.DisplayName == nil && body.Description == nil && body.IdentityClaim == nil && body.Filter == nil {
				return errors.New("nothing to update: pass --display-name, --description, --identity-claim or --filter")
			}
			return f.run(cmd, func(ctx context.Context, s *session) error {
				return sendObject(ctx, s, request{method: http.MethodPatch, path: path, body: body, ifVersion: in.ifVersion}, poolFields)
			})
		},
	}
	update.Flags().StringVar(&in.name, "display-name", "", "the new name")
	update.Flags().StringVar(&in.description, "description", "", "the new description")
	update.Flags().StringVar(&in.claim, "identity-claim", "", "the new identity claim expression")
	update.Flags().StringVar(&in.filter, "filter", "", "the new filter expression")
	ifVersionFlag(update.Flags(), &in.ifVersion)

	var delVersion uint64
	del := &cobra.Command{
		Use:   "delete ID --provider op-...",
		Short: "Delete an identity pool with its role bindings and ACLs; its connections close",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := poolsPath(args[0])
			if err != nil {
				return err
			}
			return f.run(cmd, func(ctx context.Context, s *session) error {
				if err := deleteObject(ctx, s, path, delVersion); err != nil {
					return err
				}
				s.deleted("identity pool", args[0])
				return nil
			})
		},
	}
	ifVersionFlag(del.Flags(), &delVersion)

	cmd.AddCommand(create, list, describe, update, del)
	return cmd
}
