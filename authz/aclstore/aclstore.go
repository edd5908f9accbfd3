// Package aclstore keeps Kafka ACLs in the state store: it converts
// between the store's ACLs and the authorizer's, and serves Kafka's
// CreateAcls, DescribeAcls and DeleteAcls for the proxy (proxy.ACLStore)
// by writing to the store, which every part of the proxy follows.
package aclstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// FromStore converts a stored ACL; an entry that does not parse is an
// error naming it.
func FromStore(x *store.ACL) (authz.ACL, error) {
	a := authz.ACL{Principal: x.Principal, Host: x.Host, Name: x.ResourceName}
	var errs []error
	var err error
	if a.ResourceType, err = authz.ParseResourceType(x.ResourceType); err != nil {
		errs = append(errs, err)
	}
	if a.Pattern, err = authz.ParsePatternType(x.PatternType); err != nil {
		errs = append(errs, err)
	}
	if a.Operation, err = authz.ParseOperation(x.Operation); err != nil {
		errs = append(errs, err)
	}
	if a.Permission, err = authz.ParsePermission(x.Permission); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if err := a.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return a, fmt.Errorf("ACL %s: %w", x.Metadata.ID, errors.Join(errs...))
	}
	return a, nil
}

// ToStore is the stored form of a on cluster, with its id set.
func ToStore(a authz.ACL, cluster string) *store.ACL {
	x := &store.ACL{
		Cluster:      cluster,
		ResourceType: store.KafkaName(a.ResourceType.String()),
		ResourceName: a.Name,
		PatternType:  store.KafkaName(a.Pattern.String()),
		Principal:    a.Principal,
		Host:         a.Host,
		Operation:    store.KafkaName(a.Operation.String()),
		Permission:   store.KafkaName(a.Permission.String()),
	}
	x.Metadata.ID = store.ACLID(x)
	return x
}

// OnCluster reports whether a stored ACL applies to cluster: it names it,
// or no cluster (ACLs of version 1 state files).
func OnCluster(x *store.ACL, cluster string) bool {
	return x.Cluster == "" || x.Cluster == cluster
}

// Entry is an ACL of the store, parsed.
type Entry struct {
	ACL    authz.ACL
	Stored *store.ACL
}

// Of returns the ACLs of snap that apply to cluster, parsed; entries that
// do not parse are returned as errors and left out.
func Of(snap *store.Snapshot, cluster string) (entries []Entry, bad []error) {
	for _, x := range snap.ACLs() {
		if !OnCluster(x, cluster) {
			continue
		}
		a, err := FromStore(x)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		entries = append(entries, Entry{ACL: a, Stored: x})
	}
	return entries, bad
}

// ErrNoStateFile is returned by changes when the state is not kept
// anywhere durable.
var ErrNoStateFile = errors.New("no state file is configured (api_keys.state_file): ACLs can only be changed in the configuration file")

// Store serves the proxy's ACL APIs from a state store.
type Store struct {
	st       store.Store
	cluster  func() string
	readOnly bool
}

// New returns the ACL APIs' store over st for the proxy's cluster. A
// store that keeps nothing durable is readOnly: changes are refused with
// ErrNoStateFile rather than lost at the next restart.
func New(st store.Store, cluster func() string, readOnly bool) *Store {
	return &Store{st: st, cluster: cluster, readOnly: readOnly}
}

// ACLs returns the ACLs of the configuration file and those created
// through the APIs, for the proxy's cluster.
func (s *Store) ACLs() (static, dynamic []authz.ACL) {
	entries, _ := Of(s.st.Snapshot(), s.cluster())
	for _, e := range entries {
		if e.Stored.Metadata.Source == store.SourceConfig {
			static = append(static, e.ACL)
		} else {
			dynamic = append(dynamic, e.ACL)
		}
	}
	return static, dynamic
}

// Create adds acls (those that exist already are kept once) and returns
// once the new policy is in force.
func (s *Store) Create(ctx context.Context, acls []authz.ACL) error {
	if s.readOnly {
		return ErrNoStateFile
	}
	cluster := s.cluster()
	if cluster == "" {
		return errors.New("the cluster id is not known yet")
	}
	snap := s.st.Snapshot()
	seen := map[string]bool{}
	var cmds []store.Command
	for _, a := range acls {
		if err := a.Validate(); err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
		x := ToStore(a, cluster)
		if _, ok := snap.Get(store.KindACL, x.Metadata.ID); ok || seen[x.Metadata.ID] {
			continue
		}
		seen[x.Metadata.ID] = true
		cmds = append(cmds, store.Create(x))
	}
	if len(cmds) == 0 {
		return nil
	}
	_, err := s.st.Apply(ctx, cmds...)
	if errors.Is(err, store.ErrExists) {
		// Another writer created one of them meanwhile: try the rest.
		return s.Create(ctx, acls)
	}
	return err
}

// Delete removes the stored ACLs that match each filter and returns, per
// filter, the ACLs it removed. ACLs of the configuration file are not
// removed: they are returned in fixed, per filter, for the caller to
// report.
func (s *Store) Delete(ctx context.Context, filters []authz.Filter) (deleted, fixed [][]authz.ACL, err error) {
	deleted = make([][]authz.ACL, len(filters))
	fixed = make([][]authz.ACL, len(filters))
	entries, _ := Of(s.st.Snapshot(), s.cluster())
	var cmds []store.Command
	gone := map[string]bool{}
	for i, f := range filters {
		for _, e := range entries {
			if !f.Matches(e.ACL) {
				continue
			}
			if e.Stored.Metadata.Source == store.SourceConfig {
				fixed[i] = append(fixed[i], e.ACL)
				continue
			}
			deleted[i] = append(deleted[i], e.ACL)
			if !gone[e.Stored.Metadata.ID] {
				gone[e.Stored.Metadata.ID] = true
				cmds = append(cmds, store.Delete(store.KindACL, e.Stored.Metadata.ID, 0))
			}
		}
	}
	if len(cmds) == 0 || s.readOnly {
		return deleted, fixed, nil
	}
	if _, err := s.st.Apply(ctx, cmds...); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// Another writer deleted one of them meanwhile.
			return s.Delete(ctx, filters)
		}
		return nil, nil, err
	}
	return deleted, fixed, nil
}
