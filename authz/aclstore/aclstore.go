// Package aclstore keeps the ACLs that clients manage through Kafka's
// CreateAcls and DeleteAcls APIs in the proxy's state file, and publishes
// them, together with the configuration file's policy, to an
// authz.Authorizer. The state file may be shared by several proxies: each
// watches it and applies the others' changes.
package aclstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// ErrNoStateFile is returned by changes when no state file is configured.
var ErrNoStateFile = errors.New("no state file is configured (api_keys.state_file): ACLs can only be changed in the configuration file")

// Store combines the static policy of the configuration file with the
// ACLs of the state file.
type Store struct {
	path string
	az   *authz.Authorizer
	log  *zap.Logger

	mu      sync.Mutex // serialises publishing
	static  authz.Policy
	dynamic []authz.ACL
}

// New returns a store for the state file at path ("" for none) that
// publishes to az. Call Start before serving so that the state file's ACLs
// are in force.
func New(path string, az *authz.Authorizer, static authz.Policy, log *zap.Logger) *Store {
	return &Store{path: path, az: az, static: static, log: log}
}

// Start loads the state file's ACLs, publishes the policy and, when ctx
// allows, watches the file for changes made by the CLI or other proxies.
func (s *Store) Start(ctx context.Context, poll time.Duration) error {
	if s.path == "" {
		return s.publish()
	}
	st, err := store.Load(s.path)
	if err != nil {
		return err
	}
	if err := s.apply(st, true); err != nil {
		return err
	}
	go store.Watch(ctx, s.path, poll, func(st *store.State, err error) {
		if err != nil {
			s.log.Error("state file not reloaded; the ACLs in force are kept", zap.Error(err))
			return
		}
		if err := s.apply(st, false); err != nil {
			s.log.Error("ACLs of the state file not applied; the policy in force is kept", zap.Error(err))
		}
	})
	return nil
}

// SetStatic replaces the configuration file's part of the policy.
func (s *Store) SetStatic(p authz.Policy) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.static
	s.static = p
	if err := s.publishLocked(); err != nil {
		s.static = prev
		return err
	}
	return nil
}

// apply publishes the ACLs of a state file read, unless they are the ones
// in force and force is false.
func (s *Store) apply(st *store.State, force bool) error {
	acls, err := decode(st.ACLs)
	if err != nil {
		return fmt.Errorf("state file %s: %w", s.path, err)
	}
	return s.applyACLs(acls, force)
}

func (s *Store) applyACLs(acls []authz.ACL, force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !force && slices.Equal(acls, s.dynamic) {
		return nil
	}
	prev := s.dynamic
	s.dynamic = acls
	if err := s.publishLocked(); err != nil {
		s.dynamic = prev
		return err
	}
	return nil
}

func (s *Store) publish() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publishLocked()
}

func (s *Store) publishLocked() error {
	p := s.static
	p.ACLs = append(slices.Clip(s.static.ACLs), s.dynamic...)
	if err := s.az.Update(p); err != nil {
		return err
	}
	s.log.Info("authorization policy applied", zap.Uint64("version", s.az.Load().Version()),
		zap.Int("config_acls", len(s.static.ACLs)), zap.Int("state_acls", len(s.dynamic)),
		zap.Int("role_bindings", len(s.static.RoleBindings)))
	return nil
}

// ACLs returns the ACLs of the configuration file and of the state file.
func (s *Store) ACLs() (static, dynamic []authz.ACL) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.static.ACLs), slices.Clone(s.dynamic)
}

// Create adds acls to the state file (ACLs already there are kept once)
// and returns once the new policy is in force.
func (s *Store) Create(ctx context.Context, acls []authz.ACL) error {
	if s.path == "" {
		return ErrNoStateFile
	}
	for _, a := range acls {
		if err := a.Validate(); err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
	}
	var after []authz.ACL
	err := store.Update(ctx, s.path, func(st *store.State) error {
		have, err := decode(st.ACLs)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		for _, a := range acls {
			if !slices.Contains(have, a) {
				have = append(have, a)
				st.ACLs = append(st.ACLs, encode(a, now))
			}
		}
		after = have
		return nil
	})
	if err != nil {
		return fmt.Errorf("state file %s: %w", s.path, err)
	}
	return s.applyACLs(after, false)
}

// Delete removes the state file's ACLs that match each filter and returns,
// per filter, the ACLs it removed. ACLs of the configuration file are not
// removed: they are returned in fixed, per filter, for the caller to
// report.
func (s *Store) Delete(ctx context.Context, filters []authz.Filter) (deleted, fixed [][]authz.ACL, err error) {
	deleted = make([][]authz.ACL, len(filters))
	fixed = make([][]authz.ACL, len(filters))
	static, _ := s.ACLs()
	for i, f := range filters {
		for _, a := range static {
			if f.Matches(a) {
				fixed[i] = append(fixed[i], a)
			}
		}
	}
	if s.path == "" {
		return deleted, fixed, nil
	}
	var after []authz.ACL
	err = store.Update(ctx, s.path, func(st *store.State) error {
		have, err := decode(st.ACLs)
		if err != nil {
			return err
		}
		keep := st.ACLs[:0:0]
		after = after[:0]
		for j, a := range have {
			matched := false
			for i, f := range filters {
				if f.Matches(a) {
					deleted[i] = append(deleted[i], a)
					matched = true
				}
			}
			if !matched {
				keep = append(keep, st.ACLs[j])
				after = append(after, a)
			}
		}
		st.ACLs = keep
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("state file %s: %w", s.path, err)
	}
	return deleted, fixed, s.applyACLs(after, false)
}

// encode is the state file form of a.
func encode(a authz.ACL, created time.Time) store.ACL {
	return store.ACL{
		Principal: a.Principal, Host: a.Host,
		ResourceType: a.ResourceType.String(), Name: a.Name, Pattern: a.Pattern.String(),
		Operation: a.Operation.String(), Permission: a.Permission.String(), Created: created,
	}
}

// decode reads the state file's ACLs; a bad entry is an error naming it.
func decode(in []store.ACL) ([]authz.ACL, error) {
	out := make([]authz.ACL, 0, len(in))
	for i, x := range in {
		a := authz.ACL{Principal: x.Principal, Host: x.Host, Name: x.Name}
		var errs []error
		var err error
		if a.ResourceType, err = authz.ParseResourceType(x.ResourceType); err != nil {
			errs = append(errs, err)
		}
		if a.Pattern, err = authz.ParsePatternType(x.Pattern); err != nil {
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
			return nil, fmt.Errorf("acls[%d]: %w", i, errors.Join(errs...))
		}
		out = append(out, a)
	}
	return out, nil
}
