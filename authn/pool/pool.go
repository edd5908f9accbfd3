// Package pool maps verified OAuth tokens to identity pools.
//
// An identity pool is a principal (User:pool-…) shared by every token that
// its identity provider issued and that passes the pool's filter, a CEL
// expression over the token's claims such as
//
//	claims.aud == "kafka" && "payments" in claims.groups
//
// The pool's identity claim, also a CEL expression (default claims.sub),
// names the individual caller inside the pool for audit logs.
//
// Expressions are compiled once, when the configuration loads; errors carry
// the line and column inside the expression. An expression that fails while
// evaluating a token (a missing claim, a claim of another type) does not
// match that token: write has(claims.groups) to make the intent explicit.
package pool

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
)

// DefaultIdentityClaim is used when a pool names no identity claim.
const DefaultIdentityClaim = "claims.sub"

// IDPrefix starts every pool id.
const IDPrefix = "pool-"

// costLimit bounds the work of one evaluation, so that a filter cannot be
// made expensive by a large token.
const costLimit = 100_000

// Config is one identity pool as written in the configuration file.
type Config struct {
	// ID is the pool's id, "pool-…"; the principal is "User:" + ID.
	ID string
	// Provider names the identity provider whose tokens the pool accepts.
	Provider string
	// IdentityClaim is a CEL expression yielding a string; default
	// DefaultIdentityClaim.
	IdentityClaim string
	// Filter is a CEL expression yielding a bool. Required.
	Filter string
}

// Pool is a compiled identity pool. It is safe for concurrent use.
type Pool struct {
	ID       string
	Provider string
	filter   cel.Program
	identity cel.Program
}

// Principal is the Kafka principal of the pool's members.
func (p *Pool) Principal() string { return "User:" + p.ID }

// ExprError is a compile error in one of a pool's expressions.
type ExprError struct {
	// Field is "filter" or "identity_claim".
	Field string
	// Line and Column are 1-based, inside the expression; 0 when unknown.
	Line, Column int
	Message      string
}

func (e *ExprError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d, column %d: %s", e.Field, e.Line, e.Column, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

// env is the CEL environment shared by every expression: one variable,
// claims, a map of the token's claims.
var env = func() *cel.Env {
	e, err := cel.NewEnv(
		cel.Variable("claims", cel.MapType(cel.StringType, cel.DynType)),
		cel.OptionalTypes(),
	)
	if err != nil {
		panic(fmt.Sprintf("pool: CEL environment: %v", err))
	}
	return e
}()

// Compile checks and compiles a pool's expressions. Its errors are
// *ExprError or name the invalid field.
func Compile(c Config) (*Pool, error) {
	if !strings.HasPrefix(c.ID, IDPrefix) || len(c.ID) == len(IDPrefix) {
		return nil, fmt.Errorf("id %q must start with %q", c.ID, IDPrefix)
	}
	if strings.TrimSpace(c.Filter) == "" {
		return nil, &ExprError{Field: "filter", Message: `required: a CEL expression over claims, e.g. claims.aud == "kafka"`}
	}
	filter, err := compile("filter", c.Filter, types.BoolType)
	if err != nil {
		return nil, err
	}
	claim := c.IdentityClaim
	if strings.TrimSpace(claim) == "" {
		claim = DefaultIdentityClaim
	}
	identity, err := compile("identity_claim", claim, types.StringType)
	if err != nil {
		return nil, err
	}
	return &Pool{ID: c.ID, Provider: c.Provider, filter: filter, identity: identity}, nil
}

// CheckExpr reports whether expr compiles as the given field of a pool
// ("filter" must yield a bool, "identity_claim" a string).
func CheckExpr(field, expr string) error {
	want := types.BoolType
	if field == "identity_claim" {
		want = types.StringType
	}
	_, err := compile(field, expr, want)
	return err
}

func compile(field, expr string, want *types.Type) (cel.Program, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		e := &ExprError{Field: field, Message: iss.Err().Error()}
		if errs := iss.Errors(); len(errs) > 0 {
			loc := errs[0].Location
			e.Line, e.Column = loc.Line(), loc.Column()+1
			e.Message = errs[0].Message
		}
		return nil, e
	}
	if t := ast.OutputType(); !t.IsExactType(want) && !t.IsExactType(types.DynType) {
		return nil, &ExprError{Field: field, Message: fmt.Sprintf("must yield %s; this expression yields %s", want, t)}
	}
	prg, err := env.Program(ast, cel.CostLimit(costLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, &ExprError{Field: field, Message: err.Error()}
	}
	return prg, nil
}

// Match evaluates the pool's filter on claims. When the filter holds it
// returns the caller's identity (the identity claim's value). A filter that
// fails to evaluate does not match; err then says why, for the log.
func (p *Pool) Match(claims map[string]any) (identity string, ok bool, err error) {
	act := map[string]any{"claims": claims}
	out, _, err := p.filter.Eval(act)
	if err != nil {
		return "", false, fmt.Errorf("pool %s: filter: %w", p.ID, err)
	}
	if b, isBool := out.Value().(bool); !isBool || !b {
		return "", false, nil
	}
	out, _, err = p.identity.Eval(act)
	if err != nil {
		return "", false, fmt.Errorf("pool %s: identity_claim: %w", p.ID, err)
	}
	s, isString := out.Value().(string)
	if !isString || s == "" {
		return "", false, fmt.Errorf("pool %s: identity_claim yields %v, not a non-empty string", p.ID, out.Value())
	}
	return s, true, nil
}

// Set is the pools of one configuration, in the order they are tried:
// ascending pool id. The order does not depend on how the configuration is
// written, so the pool a token lands in is stable.
type Set struct {
	pools []*Pool
	byID  map[string]*Pool
}

// NewSet orders pools by id. Ids must be unique.
func NewSet(pools []*Pool) *Set {
	s := &Set{pools: append([]*Pool(nil), pools...), byID: make(map[string]*Pool, len(pools))}
	sort.Slice(s.pools, func(i, j int) bool { return s.pools[i].ID < s.pools[j].ID })
	for _, p := range s.pools {
		s.byID[p.ID] = p
	}
	return s
}

// Get returns the pool with the given id.
func (s *Set) Get(id string) (*Pool, bool) {
	p, ok := s.byID[id]
	return p, ok
}

// Len is the number of pools.
func (s *Set) Len() int { return len(s.pools) }

// Errors returned by Select.
var (
	// ErrUnknownPool: the client asked for a pool that does not exist or
	// does not accept the token's provider.
	ErrUnknownPool = errors.New("requested identity pool does not exist for this provider")
	// ErrNoMatch: no pool's filter accepted the token.
	ErrNoMatch = errors.New("no identity pool matches the token")
)

// Select picks the pool for a token that provider verified. With requested
// set (the client's identityPoolId extension) only that pool is tried;
// otherwise the first pool of the provider, by ascending id, whose filter
// accepts the claims. Evaluation errors of pools that did not match are
// returned joined with ErrNoMatch, for the log.
func (s *Set) Select(provider, requested string, claims map[string]any) (*Pool, string, error) {
	if requested != "" {
		p, ok := s.byID[requested]
		if !ok || p.Provider != provider {
			return nil, "", ErrUnknownPool
		}
		id, ok, err := p.Match(claims)
		if !ok {
			return nil, "", errors.Join(ErrNoMatch, err)
		}
		return p, id, nil
	}
	var errs []error
	for _, p := range s.pools {
		if p.Provider != provider {
			continue
		}
		id, ok, err := p.Match(claims)
		if ok {
			return p, id, nil
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return nil, "", errors.Join(append([]error{ErrNoMatch}, errs...)...)
}
