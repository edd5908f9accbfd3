package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/admin"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

func newKafkaCmd() *cobra.Command {
	var f connFlags
	cmd := &cobra.Command{
		Use:   "kafka",
		Short: "Manage Kafka resources of the proxy's clusters",
	}
	f.register(cmd)
	acl := &cobra.Command{
		Use:   "acl",
		Short: "Manage Kafka ACLs",
		Long: `Manage Kafka ACLs, as Kafka REST v3 and Confluent's CLI do. The ACLs of a
principal apply beside its role bindings; a DENY wins over every ALLOW.`,
	}
	acl.AddCommand(newACLCreateCmd(&f), newACLListCmd(&f), newACLDeleteCmd(&f))
	cmd.AddCommand(acl)
	return cmd
}

// aclOperations are the operations an ACL may name, as Kafka writes them.
var aclOperations = []string{"ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "CLUSTER_ACTION",
	"DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE"}

// aclFlags describe ACLs, for create and as a filter.
type aclFlags struct {
	allow, deny     bool
	serviceAccount  string
	principal       string
	operations      []string
	topic           string
	group           string
	transactionalID string
	clusterScope    bool
	prefix          bool
	host            string
	cluster         string
}

func (af *aclFlags) register(fs *pflag.FlagSet, forCreate bool) {
	verb := "only ACLs that"
	if forCreate {
		verb = "the ACLs"
	}
	fs.BoolVar(&af.allow, "allow", false, verb+" allow")
	fs.BoolVar(&af.deny, "deny", false, verb+" deny")
	fs.StringVar(&af.serviceAccount, "service-account", "", "the principal is this account's, User:ID (sa-... or u-...)")
	fs.StringVar(&af.principal, "principal", "", "the principal, such as User:sa-a1b2c3 or User:pool-x1")
	if forCreate {
		fs.StringSliceVar(&af.operations, "operations", nil, "the operations, comma-separated: read, write, create, delete, alter, describe, cluster-action, describe-configs, alter-configs, idempotent-write, all")
	} else {
		fs.StringSliceVar(&af.operations, "operations", nil, "only ACLs of this operation, such as read")
	}
	fs.StringVar(&af.topic, "topic", "", "a topic (a prefix with --prefix)")
	fs.StringVar(&af.group, "consumer-group", "", "a consumer group (a prefix with --prefix)")
	fs.StringVar(&af.transactionalID, "transactional-id", "", "a transactional id (a prefix with --prefix)")
	fs.BoolVar(&af.clusterScope, "cluster-scope", false, "the cluster itself")
	fs.BoolVar(&af.prefix, "prefix", false, "the resource name is a prefix (PREFIXED)")
	fs.StringVar(&af.host, "host", "*", "the client host the ACL applies to: * or an IP address")
	fs.StringVar(&af.cluster, "cluster", "", "the cluster (lkc-...); default: the proxy's one cluster")
}

// permission is ALLOW, DENY, or "" when neither flag is given.
func (af aclFlags) permission() (string, error) {
	switch {
	case af.allow && af.deny:
		return "", errors.New("pass --allow or --deny, not both")
	case af.allow:
		return "ALLOW", nil
	case af.deny:
		return "DENY", nil
	}
	return "", nil
}

// principalOf is the principal of --principal or --service-account; ""
// when neither is given.
func (af aclFlags) principalOf() (string, error) {
	switch {
	case af.principal != "" && af.serviceAccount != "":
		return "", errors.New("pass --principal or --service-account, not both")
	case af.serviceAccount != "":
		if strings.Contains(af.serviceAccount, ":") {
			return "", fmt.Errorf("--service-account %q: pass the account id, such as sa-a1b2c3, or use --principal", af.serviceAccount)
		}
		return store.Principal(af.serviceAccount), nil
	}
	return af.principal, nil
}

// resource is the resource type, name and pattern type of the flags; all
// "" when no resource flag is given.
func (af aclFlags) resource() (typ, name, pattern string, err error) {
	var given []string
	for _, r := range []struct {
		flag, typ, name string
		set             bool
	}{
		{"--topic", "TOPIC", af.topic, af.topic != ""},
		{"--consumer-group", "GROUP", af.group, af.group != ""},
		{"--transactional-id", "TRANSACTIONAL_ID", af.transactionalID, af.transactionalID != ""},
		{"--cluster-scope", "CLUSTER", "", af.clusterScope},
	} {
		if r.set {
			given = append(given, r.flag)
			typ, name = r.typ, r.name
		}
	}
	switch {
	case len(given) > 1:
		return "", "", "", fmt.Errorf("pass one resource, not %s", strings.Join(given, " and "))
	case len(given) == 0:
		if af.prefix {
			return "", "", "", errors.New("--prefix needs --topic, --consumer-group or --transactional-id")
		}
		return "", "", "", nil
	case typ == "CLUSTER":
		if af.prefix {
			return "", "", "", errors.New("--prefix does not apply to --cluster-scope")
		}
		return typ, "", "", nil
	}
	pattern = "LITERAL"
	if af.prefix {
		pattern = "PREFIXED"
	}
	return typ, name, pattern, nil
}

// normalizeOperations writes operations as Kafka does: read, Read and
// READ are READ; describe-configs and DescribeConfigs are DESCRIBE_CONFIGS.
func normalizeOperations(ops []string) ([]string, error) {
	var out []string
	for _, op := range ops {
		op = strings.TrimSpace(op)
		if op == "" {
			continue
		}
		k := store.KafkaName(strings.ReplaceAll(op, "-", "_"))
		if !slices.Contains(aclOperations, k) {
			return nil, fmt.Errorf("operation %q: want one of %s", op, strings.ToLower(strings.Join(aclOperations, ", ")))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// filter is the query of the ACLs the flags describe.
func (af aclFlags) filter(cmd *cobra.Command) (url.Values, error) {
	q := url.Values{}
	perm, err := af.permission()
	if err != nil {
		return nil, err
	}
	if perm != "" {
		q.Set("permission", perm)
	}
	principal, err := af.principalOf()
	if err != nil {
		return nil, err
	}
	if principal != "" {
		q.Set("principal", principal)
	}
	typ, name, pattern, err := af.resource()
	if err != nil {
		return nil, err
	}
	if typ != "" {
		q.Set("resource_type", typ)
	}
	if name != "" {
		q.Set("resource_name", name)
	}
	if pattern != "" {
		q.Set("pattern_type", pattern)
	}
	ops, err := normalizeOperations(af.operations)
	if err != nil {
		return nil, err
	}
	switch len(ops) {
	case 0:
	case 1:
		q.Set("operation", ops[0])
	default:
		return nil, errors.New("a filter takes one operation")
	}
	if cmd.Flags().Changed("host") {
		q.Set("host", af.host)
	}
	return q, nil
}

// aclsPath is the ACL route of --cluster, or of the proxy's one cluster.
func (af aclFlags) aclsPath(ctx context.Context, c *apiClient) (string, error) {
	cluster := af.cluster
	if cluster == "" {
		var err error
		if cluster, err = onlyCluster(ctx, c, "--cluster"); err != nil {
			return "", err
		}
	}
	return pathOf("/kafka/v3/clusters", cluster, "acls")
}

// onlyCluster is the id of the one cluster the API serves; flag names
// the flag that picks one when there are several.
func onlyCluster(ctx context.Context, c *apiClient, flag string) (string, error) {
	clusters, err := listClusters(ctx, c)
	if err != nil {
		return "", fmt.Errorf("looking up the cluster (or pass %s): %w", flag, err)
	}
	switch len(clusters) {
	case 0:
		return "", fmt.Errorf("no cluster is served here; pass %s", flag)
	case 1:
		return clusters[0].ID, nil
	}
	ids := make([]string, 0, len(clusters))
	for _, cl := range clusters {
		ids = append(ids, cl.ID)
	}
	return "", fmt.Errorf("pass %s: the clusters are %s", flag, strings.Join(ids, ", "))
}

var aclHeader = []string{"Principal", "Permission", "Operation", "Resource Type", "Resource Name", "Pattern Type", "Host"}

func aclRow(a admin.ACL) []string {
	return []string{a.Principal, a.Permission, a.Operation, a.ResourceType, a.ResourceName, a.PatternType, a.Host}
}

func newACLCreateCmd(f *connFlags) *cobra.Command {
	var af aclFlags
	cmd := &cobra.Command{
		Use:   "create (--allow|--deny) (--service-account ID|--principal P) --operations OPS (--topic T|--consumer-group G|--transactional-id X|--cluster-scope)",
		Short: "Create ACLs: one for each operation",
		Example: `  kafka-auth-proxy kafka acl create --allow --service-account sa-a1b2c3 --operations read --topic audit
  kafka-auth-proxy kafka acl create --allow --service-account sa-a1b2c3 --operations read,describe --consumer-group audit- --prefix`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			perm, err := af.permission()
			if err != nil {
				return err
			}
			if perm == "" {
				return errors.New("pass --allow or --deny")
			}
			principal, err := af.principalOf()
			if err != nil {
				return err
			}
			if principal == "" {
				return errors.New("pass --service-account or --principal")
			}
			typ, name, pattern, err := af.resource()
			if err != nil {
				return err
			}
			if typ == "" {
				return errors.New("pass the resource: --topic, --consumer-group, --transactional-id or --cluster-scope")
			}
			ops, err := normalizeOperations(af.operations)
			if err != nil {
				return err
			}
			if len(ops) == 0 {
				return errors.New("pass --operations, such as --operations read,describe")
			}
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := af.aclsPath(ctx, s.client)
				if err != nil {
					return err
				}
				var created []json.RawMessage
				var done []string
				for _, op := range ops {
					body := admin.ACLCreate{ResourceType: typ, ResourceName: name, PatternType: pattern, Principal: principal,
						Host: af.host, Operation: op, Permission: perm}
					raw, err := s.client.call(ctx, request{method: http.MethodPost, path: path, body: body}, nil)
					if err != nil {
						if len(done) > 0 {
							return fmt.Errorf("created the ACLs of %s, then %s: %w", strings.Join(done, ", "), op, err)
						}
						return err
					}
					if raw == nil {
						// An empty answer, as Kafka REST gives: show
						// what was asked for.
						if raw, err = marshalRaw(admin.ACL{Kind: "KafkaAcl", ResourceType: typ, ResourceName: name, PatternType: pattern,
							Principal: principal, Host: af.host, Operation: op, Permission: perm}); err != nil {
							return err
						}
					}
					created = append(created, raw)
					done = append(done, op)
				}
				return showList(s.out, created, aclHeader, aclRow)
			})
		},
	}
	af.register(cmd.Flags(), true)
	return cmd
}

func newACLListCmd(f *connFlags) *cobra.Command {
	var af aclFlags
	cmd := &cobra.Command{
		Use:   "list [filters]",
		Short: "List the ACLs that match the filters (all without one)",
		Example: `  kafka-auth-proxy kafka acl list --service-account sa-a1b2c3
  kafka-auth-proxy kafka acl list --topic audit`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := af.filter(cmd)
			if err != nil {
				return err
			}
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := af.aclsPath(ctx, s.client)
				if err != nil {
					return err
				}
				var list rawACLList
				if _, err := s.client.get(ctx, path, q, &list); err != nil {
					return err
				}
				return showList(s.out, list.Data, aclHeader, aclRow)
			})
		},
	}
	af.register(cmd.Flags(), false)
	return cmd
}

func newACLDeleteCmd(f *connFlags) *cobra.Command {
	var af aclFlags
	cmd := &cobra.Command{
		Use:   "delete (--service-account ID|--principal P|a resource) [filters]",
		Short: "Delete the ACLs that match the filters, which name at least a principal or a resource",
		Example: `  kafka-auth-proxy kafka acl delete --allow --service-account sa-a1b2c3 --operations read --topic audit
  kafka-auth-proxy kafka acl delete --service-account sa-a1b2c3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := af.filter(cmd)
			if err != nil {
				return err
			}
			if !q.Has("principal") && !q.Has("resource_type") {
				return errors.New("name the ACLs to delete: pass at least --service-account/--principal or a resource (--topic, --consumer-group, --transactional-id, --cluster-scope)")
			}
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := af.aclsPath(ctx, s.client)
				if err != nil {
					return err
				}
				var list rawACLList
				if _, err := s.client.call(ctx, request{method: http.MethodDelete, path: path, query: q}, &list); err != nil {
					return err
				}
				if s.out.human() {
					if len(list.Data) == 0 {
						s.out.line("No ACL matches; nothing was deleted.")
						return nil
					}
					s.out.line("Deleted %d ACL(s):", len(list.Data))
				}
				return showList(s.out, list.Data, aclHeader, aclRow)
			})
		},
	}
	af.register(cmd.Flags(), false)
	return cmd
}

// rawACLList is an admin.ACLList with its items as received.
type rawACLList struct {
	Data []json.RawMessage `json:"data"`
}
