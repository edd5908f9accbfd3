package assemble

import (
	"cmp"
	"errors"
	"fmt"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// Policy is the configuration file's static access policy, for the
// proxy's cluster. The ACLs that clients create are added by the ACL
// store.
func Policy(cfg *config.Config, cluster string) (authz.Policy, error) {
	a := &cfg.Authorization
	p := authz.Policy{SuperUsers: a.SuperUsers, AllowIfNoACL: a.AllowIfNoACL, Cluster: cluster,
		ReservedTopics: []string{store.StateTopic}}
	for i, acl := range a.ACLs {
		x, err := ACL(acl)
		if err != nil {
			return p, fmt.Errorf("authorization.acls[%d]: %w", i, err)
		}
		p.ACLs = append(p.ACLs, x)
	}
	for i, b := range a.RoleBindings {
		x, err := RoleBinding(b)
		if err != nil {
			return p, fmt.Errorf("authorization.role_bindings[%d]: %w", i, err)
		}
		p.RoleBindings = append(p.RoleBindings, x)
	}
	return p, nil
}

// ACL converts a configured ACL into the authorizer's form, filling in the
// defaults: host *, pattern literal, permission allow, and the cluster
// resource's name.
func ACL(a config.ACL) (authz.ACL, error) {
	out, errs := parseACL(a)
	if err := errors.Join(errs...); err != nil {
		return out, err
	}
	return out, out.Validate()
}

// fieldError is a problem with one key of an entry.
type fieldError struct {
	key string
	err error
}

func (e fieldError) Error() string { return e.key + ": " + e.err.Error() }

func parseACL(a config.ACL) (authz.ACL, []error) {
	out := authz.ACL{Principal: a.Principal, Host: cmp.Or(a.Host, authz.Wildcard), Name: a.Name}
	var errs []error
	field := func(key string, err error) {
		if err != nil {
			errs = append(errs, fieldError{key, err})
		}
	}
	if !authz.ValidPrincipal(a.Principal) {
		field("principal", fmt.Errorf("want User:<account or pool id> or User:*; got %q", a.Principal))
	}
	var err error
	out.ResourceType, err = authz.ParseResourceType(a.ResourceType)
	field("resource_type", err)
	out.Pattern, err = authz.ParsePatternType(cmp.Or(a.Pattern, "literal"))
	field("pattern", err)
	out.Operation, err = authz.ParseOperation(a.Operation)
	field("operation", err)
	out.Permission, err = authz.ParsePermission(cmp.Or(a.Permission, "allow"))
	field("permission", err)
	if out.ResourceType == authz.ResourceCluster && out.Name == "" {
		out.Name = authz.ClusterName
	}
	return out, errs
}

// RoleBinding converts a configured binding into the authorizer's form. A
// binding that names no cluster applies to the proxy's.
func RoleBinding(b config.RoleBinding) (authz.RoleBinding, error) {
	out := authz.RoleBinding{Principal: b.Principal, Role: b.Role, Cluster: b.Cluster, Name: b.Name}
	if b.ResourceType != "" {
		var err error
		if out.ResourceType, err = authz.ParseResourceType(b.ResourceType); err != nil {
			return out, fieldError{"resource_type", err}
		}
		if out.Pattern, err = authz.ParsePatternType(cmp.Or(b.Pattern, "literal")); err != nil {
			return out, fieldError{"pattern", err}
		}
	}
	return out, out.Validate()
}
