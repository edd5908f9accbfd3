package assemble

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/pool"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
)

// checker collects the problems of one configuration, with the lines of
// their key paths.
type checker struct {
	cfg      *config.Config
	problems []config.Problem
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, config.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// apiKeys checks each declared key's id and secret hash.
func (c *checker) apiKeys() {
	for i, key := range c.cfg.APIKeys.Keys {
		p := fmt.Sprintf("api_keys.keys[%d]", i)
		if !apikey.ValidKeyID(key.ID) {
			c.add(p+".id", "must be %d upper-case letters and digits; got %q", apikey.KeyIDLength, key.ID)
		}
		if key.SecretHash != "" {
			if _, err := apikey.ParseHash(key.SecretHash); err != nil {
				c.add(p+".secret_hash", "%v", err)
			}
		}
	}
}

// pools checks each identity pool's id and compiles its expressions.
func (c *checker) pools() {
	for i, pl := range c.cfg.OIDC.IdentityPools {
		p := fmt.Sprintf("oidc.identity_pools[%d]", i)
		if !strings.HasPrefix(pl.ID, pool.IDPrefix) || len(pl.ID) == len(pool.IDPrefix) {
			c.add(p+".id", "must start with %q; got %q", pool.IDPrefix, pl.ID)
		}
		if strings.TrimSpace(pl.Filter) != "" {
			if err := pool.CheckExpr("filter", pl.Filter); err != nil {
				c.add(p+".filter", "%s", exprMessage(err))
			}
		}
		if pl.IdentityClaim != "" {
			if err := pool.CheckExpr("identity_claim", pl.IdentityClaim); err != nil {
				c.add(p+".identity_claim", "%s", exprMessage(err))
			}
		}
	}
}

// exprMessage formats a CEL compile error without repeating the field name.
func exprMessage(err error) string {
	var ee *pool.ExprError
	if errors.As(err, &ee) {
		if ee.Line > 0 {
			return fmt.Sprintf("CEL error at line %d, column %d of the expression: %s", ee.Line, ee.Column, ee.Message)
		}
		return "CEL error: " + ee.Message
	}
	return err.Error()
}

// authorization checks the super users, and each ACL and role binding on
// its own.
func (c *checker) authorization() {
	a := &c.cfg.Authorization
	for i, u := range a.SuperUsers {
		switch {
		case u == authz.WildcardPrincipal:
			c.add(fmt.Sprintf("authorization.super_users[%d]", i), "User:* would make every client a super user; grant a role binding instead")
		case !authz.ValidPrincipal(u):
			c.add(fmt.Sprintf("authorization.super_users[%d]", i), "want User:<account or pool id>; got %q", u)
		}
	}
	for i, acl := range a.ACLs {
		path := fmt.Sprintf("authorization.acls[%d]", i)
		x, errs := parseACL(acl)
		for _, err := range errs {
			fe := err.(fieldError)
			c.add(path+"."+fe.key, "%v", fe.err)
		}
		if len(errs) == 0 {
			if err := x.Validate(); err != nil {
				c.add(path, "%v", err)
			}
		}
	}
	for i, b := range a.RoleBindings {
		path := fmt.Sprintf("authorization.role_bindings[%d]", i)
		if _, err := RoleBinding(b); err != nil {
			var fe fieldError
			if errors.As(err, &fe) {
				c.add(path+"."+fe.key, "%v", fe.err)
			} else {
				c.add(path, "%v", err)
			}
		}
	}
}
