package authz

import (
	"math/bits"
	"math/rand/v2"
	"strings"
	"sync/atomic"
)

// The memo remembers a Subject's decisions by (resource type, name,
// operation). It has 4096 slots (32 KiB of pointers) in sets of four (32
// bytes, within one cache line): a question hashes to a slot and its
// decision may sit in any slot of that slot's set, tried in a fixed order
// from it. A direct-mapped memo let two questions that hash alike evict
// each other on every turn; with sets of four that takes five questions of
// one set at once. 4096 slots hold the working set of a typical client many
// times over; a client that touches more (an admin listing every topic)
// pays cold decisions for the overflow only.
const (
	memoSize = 4096
	memoWays = 4
)

// memoEntry is one remembered decision. Entries are immutable once
// published, so a reader that loads one sees it whole.
type memoEntry struct {
	hash uint64 // compared first: a cheap way to pass over other questions' entries
	name string
	rt   ResourceType
	op   Operation
	d    Decision
}

type memoTable struct {
	slots [memoSize]atomic.Pointer[memoEntry]
	// byType remembers AuthorizeAny, per resource type and operation.
	byType [numTypes][16]atomic.Pointer[Decision]
}

// Subject is one client identity's view of a Table: what a connection
// keeps to authorize its requests. It is safe for concurrent use and is
// shared by the connections of the same principal. A Subject answers for
// the Table it came from; after the policy changes, take a new one from
// the new Table (see Authorizer.Subject).
type Subject struct {
	table     *Table
	principal string
	host      string // canonical; "" when no rule names this client's host
	super     bool
	seed      uint64
	indexes   []*principalIndex // the principal's own rules, then User:*'s

	// memo is allocated on the first decision, so that Subjects of idle
	// connections cost little.
	memo atomic.Pointer[memoTable]
}

// Table is the table the Subject decides by.
func (s *Subject) Table() *Table { return s.table }

// Principal is the principal the Subject decides for.
func (s *Subject) Principal() string { return s.principal }

// Authorize decides whether the subject may perform op on the resource of
// type rt named name (ClusterName for the cluster). It is the hot path: a
// decision the subject made before is answered from the memo without
// locking or allocating.
//
// Only misses are counted (Table.MemoMisses). Counting hits would put an
// atomic increment on a cache line shared by every core into each
// decision, costing more than the rest of a hit; callers that count their
// decisions get hits as decisions minus misses.
func (s *Subject) Authorize(rt ResourceType, name string, op Operation) Decision {
	if s.super {
		if rt == ResourceTopic && s.table.Reserved(name) {
			return reservedDeny
		}
		return superUserAll
	}
	h := questionHash(s.seed, rt, name, op)
	if m := s.memo.Load(); m != nil {
		i := h & (memoSize - 1)
		// Slots are filled in this order and never emptied, so an empty
		// slot ends the search.
		for k := range uint64(memoWays) {
			e := m.slots[i^k].Load()
			if e == nil {
				break
			}
			if e.answers(h, name, rt, op) {
				return e.d
			}
		}
	}
	return s.miss(h, rt, name, op)
}

// miss decides without the memo and remembers the decision.
func (s *Subject) miss(h uint64, rt ResourceType, name string, op Operation) Decision {
	d := s.decide(rt, name, op)
	s.table.misses.Add(1)
	// The name is copied: callers may pass a string that aliases a pooled
	// request buffer, which must not become a memo key that changes later.
	e := &memoEntry{hash: h, name: strings.Clone(name), rt: rt, op: op, d: d}
	m := s.memoOrNew()
	// The first slot of the set, in search order, that is empty or holds
	// this question already (a concurrent miss may have stored it); when
	// the set is full, any of its slots at random: a fixed victim would
	// let questions of one set evict each other forever.
	i := h & (memoSize - 1)
	victim := i ^ uint64(rand.Uint32()%memoWays)
	for k := range uint64(memoWays) {
		if m.slots[i^k].Load().holds(h, name, rt, op) {
			victim = i ^ k
			break
		}
	}
	m.slots[victim].Store(e)
	return d
}

// answers reports whether e, which may be nil, remembers the question.
func (e *memoEntry) answers(h uint64, name string, rt ResourceType, op Operation) bool {
	return e != nil && e.hash == h && e.name == name && e.rt == rt && e.op == op
}

// holds reports whether the slot's entry e is free for the question:
// empty, or holding that question already.
func (e *memoEntry) holds(h uint64, name string, rt ResourceType, op Operation) bool {
	return e == nil || e.answers(h, name, rt, op)
}

// memoOrNew returns the memo, allocating it on first use.
func (s *Subject) memoOrNew() *memoTable {
	if m := s.memo.Load(); m != nil {
		return m
	}
	fresh := new(memoTable)
	if s.memo.CompareAndSwap(nil, fresh) {
		return fresh
	}
	return s.memo.Load()
}

// AuthorizeAny decides whether the subject may perform op on at least one
// resource of type rt, as Kafka's authorizeByResourceType does (an
// idempotent producer's InitProducerId needs Write on some topic, KIP-679).
// Decisions are memoised like Authorize's; unlike Authorize it is not
// meant for a per-item hot path.
func (s *Subject) AuthorizeAny(rt ResourceType, op Operation) Decision {
	if s.super {
		return superUserAll
	}
	slot, okType := typeSlot(rt)
	if !okType || opBit(op) == 0 {
		return s.decideAny(rt, op) // an invalid question: denied, not memoised
	}
	p := &s.memoOrNew().byType[slot][op]
	if d := p.Load(); d != nil {
		return *d
	}
	d := s.decideAny(rt, op)
	s.table.misses.Add(1)
	p.Store(&d)
	return d
}

// questionHash hashes a question for the memo. It is written out rather
// than taken from hash/maphash because it is half the cost of a memo hit
// and resource names are short: a name of up to 16 bytes costs two loads
// and one multiplication. The construction follows wyhash. The seed is
// random per Table, so nobody can choose names that collide on purpose.
func questionHash(seed uint64, rt ResourceType, name string, op Operation) uint64 {
	const (
		k0 = 0xa0761d6478bd642f
		k1 = 0xe7037ed1a0b428db
		k2 = 0x8ebc6af09c88c6e3
	)
	h := seed ^ (uint64(len(name)) | uint64(uint8(rt))<<32 | uint64(uint8(op))<<40)
	s := name
	for len(s) > 16 {
		h = hashMix(le64(s)^k1, le64(s[8:])^h)
		s = s[16:]
	}
	var a, b uint64
	switch n := len(s); {
	case n >= 8:
		a, b = le64(s), le64(s[n-8:])
	case n >= 4:
		a, b = uint64(le32(s)), uint64(le32(s[n-4:]))
	case n > 0:
		a = uint64(s[0])<<16 | uint64(s[n>>1])<<8 | uint64(s[n-1])
	}
	return hashMix(a^k0^h, b^k2)
}

func hashMix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// le64 and le32 read little-endian words from a string; the compiler turns
// the byte reads into one load.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}
