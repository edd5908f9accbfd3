package proxy

import (
	"context"
	"errors"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz/aclstore"
)

// Kafka's ACL APIs (CreateAcls, DescribeAcls, DeleteAcls) are answered by
// the proxy from its own policy, so that kafka-acls and admin clients
// manage the proxy's ACLs; the upstream's ACLs are never shown or changed.

// ACLStore holds the ACLs the ACL APIs manage. The configuration file's
// ACLs are listed but cannot be deleted through the API.
type ACLStore interface {
	// ACLs returns the configuration file's ACLs and the stored ones.
	ACLs() (static, dynamic []authz.ACL)
	// Create stores acls and returns once they are in force.
	Create(ctx context.Context, acls []authz.ACL) error
	// Delete removes the stored ACLs each filter matches, returns them per
	// filter, and returns the configuration file's ACLs the filter matches
	// in fixed.
	Delete(ctx context.Context, filters []authz.Filter) (deleted, fixed [][]authz.ACL, err error)
}

const (
	msgSecurityDisabled = "no authorizer is configured (auth: none)"
	msgNoACLStore       = "this proxy keeps no ACL store"
	msgReservedACL      = "the proxy's state topic takes no ACLs: it is closed to every client"
)

// aclStoreCode is the error code and message of an ACL API request on a
// proxy without an ACL store, or 0. The cluster permission the API needs
// was checked by its rule (enforce.CreateACLs and the others).
func (c *clientConn) aclStoreCode() (int16, *string) {
	if c.sess == nil {
		return kerr.SecurityDisabled.Code, strp(msgSecurityDisabled)
	}
	if c.s.authz.ACLs == nil {
		return kerr.SecurityDisabled.Code, strp(msgNoACLStore)
	}
	return 0, nil
}

// aclContext bounds a change to the ACL store (a locked state file
// update).
func (c *clientConn) aclContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.s.dialer.timeout)
}

func handleCreateACLs(c *clientConn, req kmsg.Request) ([]byte, bool, error) {
	r := req.(*kmsg.CreateACLsRequest)
	resp := kmsg.NewPtrCreateACLsResponse()
	resp.Version = r.Version
	resp.Results = make([]kmsg.CreateACLsResponseResult, len(r.Creations))
	code, msg := c.aclStoreCode()
	var valid []authz.ACL
	var at []int
	for i, x := range r.Creations {
		res := &resp.Results[i]
		res.Default()
		if code != 0 {
			res.ErrorCode, res.ErrorMessage = code, msg
			continue
		}
		a := authz.ACL{
			Principal: x.Principal, Host: x.Host,
			ResourceType: authz.ResourceType(x.ResourceType), Name: x.ResourceName,
			Pattern:   authz.PatternType(x.ResourcePatternType),
			Operation: authz.Operation(x.Operation), Permission: authz.Permission(x.PermissionType),
		}
		if err := a.Validate(); err != nil {
			res.ErrorCode, res.ErrorMessage = kerr.InvalidRequest.Code, strp(err.Error())
			continue
		}
		if c.s.authz.Authorizer.Load().ReservesACL(a) {
			res.ErrorCode, res.ErrorMessage = kerr.TopicAuthorizationFailed.Code, strp(msgReservedACL)
			continue
		}
		valid = append(valid, a)
		at = append(at, i)
	}
	if len(valid) > 0 {
		ctx, cancel := c.aclContext()
		err := c.s.authz.ACLs.Create(ctx, valid)
		cancel()
		if err != nil {
			c.log.Warn("CreateAcls failed", zap.Error(err))
			for _, i := range at {
				resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = aclStoreError(err)
			}
		}
	}
	return resp.AppendTo(nil), false, nil
}

// aclStoreError is how a failure of the ACL store is reported. The cause,
// which names files on the proxy's host, goes to the proxy's log only.
func aclStoreError(err error) (int16, *string) {
	if errors.Is(err, aclstore.ErrNoStateFile) {
		return kerr.SecurityDisabled.Code, strp(err.Error())
	}
	return kerr.UnknownServerError.Code, strp("the proxy could not store the ACL change; its log has the cause")
}

// filterOf reads a DescribeAcls or DeleteAcls filter.
func filterOf(rt kmsg.ACLResourceType, name *string, pt kmsg.ACLResourcePatternType, principal, host *string, op kmsg.ACLOperation, perm kmsg.ACLPermissionType) authz.Filter {
	return authz.Filter{
		ResourceType: authz.ResourceType(rt), Name: name, Pattern: authz.PatternType(pt),
		Principal: principal, Host: host,
		Operation: authz.Operation(op), Permission: authz.Permission(perm),
	}
}

func handleDescribeACLs(c *clientConn, req kmsg.Request) ([]byte, bool, error) {
	r := req.(*kmsg.DescribeACLsRequest)
	resp := kmsg.NewPtrDescribeACLsResponse()
	resp.Version = r.Version
	if code, msg := c.aclStoreCode(); code != 0 {
		resp.ErrorCode, resp.ErrorMessage = code, msg
		return resp.AppendTo(nil), false, nil
	}
	f := filterOf(r.ResourceType, r.ResourceName, r.ResourcePatternType, r.Principal, r.Host, r.Operation, r.PermissionType)
	if err := f.Validate(); err != nil {
		resp.ErrorCode, resp.ErrorMessage = kerr.InvalidRequest.Code, strp(err.Error())
		return resp.AppendTo(nil), false, nil
	}
	static, dynamic := c.s.authz.ACLs.ACLs()
	type resource struct {
		rt      authz.ResourceType
		name    string
		pattern authz.PatternType
	}
	byResource := map[resource][]kmsg.DescribeACLsResponseResourceACL{}
	for _, a := range append(static, dynamic...) {
		if !f.Matches(a) {
			continue
		}
		key := resource{a.ResourceType, a.Name, a.Pattern}
		x := kmsg.NewDescribeACLsResponseResourceACL()
		x.Principal, x.Host = a.Principal, a.Host
		x.Operation, x.PermissionType = kmsg.ACLOperation(a.Operation), kmsg.ACLPermissionType(a.Permission)
		if !containsACL(byResource[key], x) {
			byResource[key] = append(byResource[key], x)
		}
	}
	keys := make([]resource, 0, len(byResource))
	for k := range byResource {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.rt != b.rt {
			return a.rt < b.rt
		}
		if a.pattern != b.pattern {
			return a.pattern < b.pattern
		}
		return a.name < b.name
	})
	for _, k := range keys {
		x := kmsg.NewDescribeACLsResponseResource()
		x.ResourceType, x.ResourceName = kmsg.ACLResourceType(k.rt), k.name
		x.ResourcePatternType = kmsg.ACLResourcePatternType(k.pattern)
		x.ACLs = byResource[k]
		resp.Resources = append(resp.Resources, x)
	}
	return resp.AppendTo(nil), false, nil
}

func containsACL(list []kmsg.DescribeACLsResponseResourceACL, x kmsg.DescribeACLsResponseResourceACL) bool {
	for _, y := range list {
		if y.Principal == x.Principal && y.Host == x.Host && y.Operation == x.Operation && y.PermissionType == x.PermissionType {
			return true
		}
	}
	return false
}

func handleDeleteACLs(c *clientConn, req kmsg.Request) ([]byte, bool, error) {
	r := req.(*kmsg.DeleteACLsRequest)
	resp := kmsg.NewPtrDeleteACLsResponse()
	resp.Version = r.Version
	resp.Results = make([]kmsg.DeleteACLsResponseResult, len(r.Filters))
	code, msg := c.aclStoreCode()
	var filters []authz.Filter
	var at []int
	for i, x := range r.Filters {
		res := &resp.Results[i]
		res.Default()
		if code != 0 {
			res.ErrorCode, res.ErrorMessage = code, msg
			continue
		}
		f := filterOf(x.ResourceType, x.ResourceName, x.ResourcePatternType, x.Principal, x.Host, x.Operation, x.PermissionType)
		if err := f.Validate(); err != nil {
			res.ErrorCode, res.ErrorMessage = kerr.InvalidRequest.Code, strp(err.Error())
			continue
		}
		filters = append(filters, f)
		at = append(at, i)
	}
	if len(filters) == 0 {
		return resp.AppendTo(nil), false, nil
	}
	ctx, cancel := c.aclContext()
	deleted, fixed, err := c.s.authz.ACLs.Delete(ctx, filters)
	cancel()
	if err != nil {
		c.log.Warn("DeleteAcls failed", zap.Error(err))
		for _, i := range at {
			resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = aclStoreError(err)
		}
		return resp.AppendTo(nil), false, nil
	}
	for j, i := range at {
		res := &resp.Results[i]
		for _, a := range deleted[j] {
			res.MatchingACLs = append(res.MatchingACLs, matchingACL(a, 0, nil))
		}
		for _, a := range fixed[j] {
			res.MatchingACLs = append(res.MatchingACLs, matchingACL(a, kerr.InvalidRequest.Code,
				strp("this ACL is defined in the proxy's configuration file; remove it there")))
		}
	}
	return resp.AppendTo(nil), false, nil
}

func matchingACL(a authz.ACL, code int16, msg *string) kmsg.DeleteACLsResponseResultMatchingACL {
	x := kmsg.NewDeleteACLsResponseResultMatchingACL()
	x.ErrorCode, x.ErrorMessage = code, msg
	x.ResourceType, x.ResourceName = kmsg.ACLResourceType(a.ResourceType), a.Name
	x.ResourcePatternType = kmsg.ACLResourcePatternType(a.Pattern)
	x.Principal, x.Host = a.Principal, a.Host
	x.Operation, x.PermissionType = kmsg.ACLOperation(a.Operation), kmsg.ACLPermissionType(a.Permission)
	return x
}

func strp(s string) *string { return &s }
