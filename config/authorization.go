package config

import (
	"cmp"
	"errors"
	"fmt"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
)

// ACL converts the configured ACL into the authorizer's form, filling in
// the defaults: host *, pattern literal, permission allow, and the cluster
// resource's name.
func (a ACL) ACL() (authz.ACL, error) {
	out, errs := a.parse()
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

func (a ACL) parse() (authz.ACL, []error) {
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

// RoleBinding converts the configured binding into the authorizer's form.
// A binding that names no cluster applies to the proxy's.
func (b RoleBinding) RoleBinding() (authz.RoleBinding, error) {
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

// Policy is the static access policy of the file, for the proxy's cluster.
// ACLs from the state file are added by the caller.
func (a *Authorization) Policy(cluster string) (authz.Policy, error) {
	p := authz.Policy{SuperUsers: a.SuperUsers, AllowIfNoACL: a.AllowIfNoACL, Cluster: cluster}
	for i, acl := range a.ACLs {
		x, err := acl.ACL()
		if err != nil {
			return p, fmt.Errorf("authorization.acls[%d]: %w", i, err)
		}
		p.ACLs = append(p.ACLs, x)
	}
	for i, b := range a.RoleBindings {
		x, err := b.RoleBinding()
		if err != nil {
			return p, fmt.Errorf("authorization.role_bindings[%d]: %w", i, err)
		}
		p.RoleBindings = append(p.RoleBindings, x)
	}
	return p, nil
}

// authorization checks the authorization section, each entry on its own.
func (k *checker) authorization(a *Authorization) {
	for i, u := range a.SuperUsers {
		switch {
		case u == authz.WildcardPrincipal:
			k.add(fmt.Sprintf("authorization.super_users[%d]", i), "User:* would make every client a super user; grant a role binding instead")
		case !authz.ValidPrincipal(u):
			k.add(fmt.Sprintf("authorization.super_users[%d]", i), "want User:<account or pool id>; got %q", u)
		}
	}
	if a.AuditAllowedSampleRate < 0 || a.AuditAllowedSampleRate > 1 {
		k.add("authorization.audit_allowed_sample_rate", "must be between 0 and 1; got %v", a.AuditAllowedSampleRate)
	}
	for i, acl := range a.ACLs {
		path := fmt.Sprintf("authorization.acls[%d]", i)
		x, errs := acl.parse()
		for _, err := range errs {
			fe := err.(fieldError)
			k.add(path+"."+fe.key, "%v", fe.err)
		}
		if len(errs) == 0 {
			if err := x.Validate(); err != nil {
				k.add(path, "%v", err)
			}
		}
	}
	for i, b := range a.RoleBindings {
		path := fmt.Sprintf("authorization.role_bindings[%d]", i)
		if _, err := b.RoleBinding(); err != nil {
			var fe fieldError
			if errors.As(err, &fe) {
				k.add(path+"."+fe.key, "%v", fe.err)
			} else {
				k.add(path, "%v", err)
			}
		}
	}
}
