package assemble

import (
	"errors"
	"fmt"
	"sync"

	"go.uber.org/zap"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/oauth"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// ControlPlane keeps the authenticator and the authorizer in step with the
// state store and the configuration file. Every snapshot of the store,
// whether a write through the admin API, a Kafka ACL request, another
// process changing the state file or a configuration reload, is applied
// before the write that made it returns: a role binding created through
// the API applies to the next request of connections already open, and a
// deleted key's connections are closed.
type ControlPlane struct {
	st      store.Store
	cluster func() string
	log     *zap.Logger

	mu     sync.Mutex
	cfg    *config.Config
	urls   *oauth.URLPolicy
	auth   *authn.Authenticator
	az     *authz.Authorizer
	cancel func()
	bad    string // the problems last logged
}

// NewControlPlane returns the control plane of cfg over st. cluster
// returns the proxy's cluster id, "" while it is not known.
func NewControlPlane(st store.Store, cfg *config.Config, cluster func() string, log *zap.Logger) (*ControlPlane, error) {
	urls, err := oauth.NewURLPolicy(cfg.Admin.AllowedProviderURLs)
	if err != nil {
		return nil, err
	}
	c := &ControlPlane{st: st, cluster: cluster, log: log, cfg: cfg, urls: urls}
	if err := c.setStatic(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// Store is the state store.
func (c *ControlPlane) Store() store.Store { return c.st }

// URLs is the policy of providers registered through the API.
func (c *ControlPlane) URLs() *oauth.URLPolicy {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.urls
}

// Authn is the authenticator's input for the current state.
func (c *ControlPlane) Authn() authn.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Credentials(c.st.Snapshot(), c.cfg, c.urls)
}

// Policy is the authorization policy for the current state.
func (c *ControlPlane) Policy() authz.Policy {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, _ := PolicyOf(c.st.Snapshot(), c.cfg, c.cluster())
	return p
}

// Follow makes auth (nil when clients do not authenticate) and az follow
// the store until Stop.
func (c *ControlPlane) Follow(auth *authn.Authenticator, az *authz.Authorizer) {
	c.mu.Lock()
	c.auth, c.az = auth, az
	c.mu.Unlock()
	c.cancel = c.st.Subscribe(c.apply)
}

// Stop ends Follow.
func (c *ControlPlane) Stop() {
	if c.cancel != nil {
		c.cancel()
	}
}

// SetConfig applies a new configuration file: its objects replace the
// store's static ones, and its settings apply with them. A file whose
// objects do not convert changes nothing.
func (c *ControlPlane) SetConfig(cfg *config.Config) error {
	urls, err := oauth.NewURLPolicy(cfg.Admin.AllowedProviderURLs)
	if err != nil {
		return err
	}
	objs, err := Static(cfg, c.cluster())
	if err != nil {
		return err
	}
	c.mu.Lock()
	prev, prevURLs := c.cfg, c.urls
	c.cfg, c.urls = cfg, urls
	c.mu.Unlock()
	if err := c.check(); err != nil {
		c.mu.Lock()
		c.cfg, c.urls = prev, prevURLs
		c.mu.Unlock()
		return err
	}
	c.st.SetStatic(objs)
	return nil
}

// ClusterKnown adds the configuration's bindings that waited for the
// cluster id.
func (c *ControlPlane) ClusterKnown() error {
	c.mu.Lock()
	cfg := c.cfg
	c.mu.Unlock()
	return c.setStatic(cfg)
}

func (c *ControlPlane) setStatic(cfg *config.Config) error {
	objs, err := Static(cfg, c.cluster())
	if err != nil {
		return err
	}
	c.st.SetStatic(objs)
	return nil
}

// check builds the inputs of the current state with the new settings,
// to refuse a configuration the authenticator would refuse.
func (c *ControlPlane) check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.auth == nil {
		return nil
	}
	return c.auth.Check(Credentials(c.st.Snapshot(), c.cfg, c.urls))
}

// apply is the store's subscriber.
func (c *ControlPlane) apply(snap *store.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.az == nil {
		return
	}
	pol, bad := PolicyOf(snap, c.cfg, c.cluster())
	if c.auth != nil {
		if err := c.auth.Reload(Credentials(snap, c.cfg, c.urls)); err != nil {
			c.log.Error("state not applied: the credentials in force are kept", zap.Uint64("state_seq", snap.Seq()), zap.Error(err))
			return
		}
	}
	if err := c.az.Update(pol); err != nil {
		c.log.Error("state not applied: the authorization policy in force is kept", zap.Uint64("state_seq", snap.Seq()), zap.Error(err))
		return
	}
	if msg := fmt.Sprint(errors.Join(bad...)); len(bad) > 0 && msg != c.bad {
		c.log.Warn("state entries skipped", zap.Error(errors.Join(bad...)))
		c.bad = msg
	} else if len(bad) == 0 {
		c.bad = ""
	}
	c.log.Debug("state applied", zap.Uint64("state_seq", snap.Seq()), zap.Uint64("policy_version", c.az.Load().Version()),
		zap.Int("acls", len(pol.ACLs)), zap.Int("role_bindings", len(pol.RoleBindings)))
}
