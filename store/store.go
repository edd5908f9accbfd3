// Package store keeps the proxy's dynamic state: service accounts, users,
// API keys, identity providers and pools, role bindings and ACLs, beside
// the read-only ones of the configuration file.
//
// Every backend implements Store. Reads come from an immutable Snapshot,
// so the login and authorization paths never wait for the store. Writes
// are Commands with preconditions (an expected version, unique names, the
// last OrganizationAdmin), decided by Snapshot.Apply, which is
// deterministic: the same commands on the same state give the same state
// on every replica. After each change the store hands the new snapshot to
// its subscribers, which swap their tables from it.
//
// The File backend keeps the state in one JSON file, written atomically
// under a lock, and picks up changes other processes make to it (the
// offline CLI, other proxies sharing the file). Memory keeps it in memory,
// for tests.
package store

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Store is dynamic state behind one interface. It is safe for concurrent
// use.
type Store interface {
	// Snapshot returns the current state. It never blocks on I/O.
	Snapshot() *Snapshot
	// Apply makes the commands durable, all or none, and returns the
	// snapshot that holds them, which subscribers have seen by then. A
	// refused command is an *Error wrapping one of the Err… values.
	Apply(ctx context.Context, cmds ...Command) (*Snapshot, error)
	// SetStatic replaces the objects of the configuration file, which
	// are read-only to Apply. They are not stored.
	SetStatic(objs []Object)
	// Subscribe calls fn with the current snapshot, then with every new
	// one, in order and never concurrently, until the returned function
	// is called. fn runs while the store holds its write lock: it may
	// read snapshots but must not call Apply, SetStatic or Subscribe.
	Subscribe(fn func(*Snapshot)) (cancel func())
	// RecordKeyUse merges the times API keys were last used, keeping
	// the later of each; KeyLastUsed returns the times recorded.
	RecordKeyUse(ctx context.Context, used map[string]time.Time) error
	KeyLastUsed(ctx context.Context) (map[string]time.Time, error)
}

// core is what every backend shares: the current snapshot, the static
// objects and the subscribers.
type core struct {
	mu     sync.Mutex // serialises changes and notifications
	cur    atomic.Pointer[Snapshot]
	static []Object
	subs   map[int]func(*Snapshot)
	nextID int
	now    func() time.Time
}

func newCore() *core {
	c := &core{subs: map[int]func(*Snapshot){}, now: time.Now}
	c.cur.Store(emptySnapshot())
	return c
}

func (c *core) snapshot() *Snapshot { return c.cur.Load() }

// publishLocked installs s and tells the subscribers.
func (c *core) publishLocked(s *Snapshot) {
	c.cur.Store(s)
	ids := make([]int, 0, len(c.subs))
	for id := range c.subs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c.subs[id](s)
	}
}

func (c *core) subscribe(fn func(*Snapshot)) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextID
	c.nextID++
	c.subs[id] = fn
	fn(c.cur.Load())
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.subs, id)
	}
}

// withStatic returns s with its configuration objects replaced by static.
// An API object with the id of a static one is hidden by it, not lost: it
// stays in the store and comes back when the static one goes.
func withStatic(s *Snapshot, static []Object) *Snapshot {
	e := s.edit()
	shadowed := map[Kind]map[string]Object{}
	for k, m := range s.shadowed {
		shadowed[k] = maps.Clone(m)
	}
	for _, k := range Kinds {
		for _, o := range s.tables[k].byID {
			if o.Meta().Source != SourceConfig {
				continue
			}
			id := o.Meta().ID
			e.remove(k, id)
			if api, ok := shadowed[k][id]; ok {
				e.put(api)
				delete(shadowed[k], id)
			}
		}
	}
	for _, o := range static {
		o = o.copyObject()
		m := o.Meta()
		m.Source = SourceConfig
		if m.Version == 0 {
			m.Version = 1
		}
		k := o.Kind()
		if cur, ok := e.next.Get(k, m.ID); ok && sourceOf(cur.Meta()) == SourceAPI {
			if shadowed[k] == nil {
				shadowed[k] = map[string]Object{}
			}
			shadowed[k][m.ID] = cur
		}
		e.put(o)
	}
	e.next.shadowed = shadowed
	return e.next
}

// dynamic returns the objects of s created through the API, shadowed ones
// included, by kind, in order of id: what a backend stores.
func dynamic(s *Snapshot) map[Kind][]Object {
	out := map[Kind][]Object{}
	for _, k := range Kinds {
		for _, o := range s.List(k) {
			if sourceOf(o.Meta()) == SourceAPI {
				out[k] = append(out[k], o)
			}
		}
		if len(s.shadowed[k]) > 0 {
			out[k] = append(out[k], slices.Collect(maps.Values(s.shadowed[k]))...)
			slices.SortFunc(out[k], func(a, b Object) int { return strings.Compare(a.Meta().ID, b.Meta().ID) })
		}
	}
	return out
}

// fromObjects builds a snapshot of API objects and the static ones.
func fromObjects(objs map[Kind][]Object, static []Object, seq uint64) *Snapshot {
	s := emptySnapshot()
	e := s.edit()
	for _, k := range Kinds {
		for _, o := range objs[k] {
			o.Meta().Source = SourceAPI
			e.put(o)
		}
	}
	n := withStatic(e.next, static)
	n.seq = seq
	return n
}

// Memory is a Store held in memory only.
type Memory struct {
	c *core

	usedMu sync.Mutex
	used   map[string]time.Time
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{c: newCore(), used: map[string]time.Time{}}
}

func (m *Memory) Snapshot() *Snapshot { return m.c.snapshot() }

func (m *Memory) Apply(ctx context.Context, cmds ...Command) (*Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	next, err := m.c.cur.Load().Apply(cmds, m.c.now())
	if err != nil {
		return nil, err
	}
	m.c.publishLocked(next)
	return next, nil
}

func (m *Memory) SetStatic(objs []Object) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	m.c.static = objs
	m.c.publishLocked(withStatic(m.c.cur.Load(), objs))
}

func (m *Memory) Subscribe(fn func(*Snapshot)) func() { return m.c.subscribe(fn) }

func (m *Memory) RecordKeyUse(_ context.Context, used map[string]time.Time) error {
	m.usedMu.Lock()
	defer m.usedMu.Unlock()
	mergeUsed(m.used, used)
	return nil
}

func (m *Memory) KeyLastUsed(context.Context) (map[string]time.Time, error) {
	m.usedMu.Lock()
	defer m.usedMu.Unlock()
	out := make(map[string]time.Time, len(m.used))
	for k, v := range m.used {
		out[k] = v
	}
	return out, nil
}

// mergeUsed keeps the later time of each key, in UTC to the second.
func mergeUsed(dst, seen map[string]time.Time) {
	for id, t := range seen {
		t = t.UTC().Truncate(time.Second)
		if t.After(dst[id]) {
			dst[id] = t
		}
	}
}
