package assemble

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz/aclstore"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// Security is a proxy server's authentication and authorization, and the
// state store they follow.
type Security struct {
	Store         store.Store
	ControlPlane  *ControlPlane
	Authenticator *authn.Authenticator
	Authorizer    *authz.Authorizer
}

// Secure opens the state store of cfg (the state file, watched for the
// changes of other processes, or an in-memory store of the configuration
// file's objects when there is none) and makes srv authenticate and
// authorize clients from it, until ctx ends. Call Started once srv has
// started, and Wait after ctx ended.
func Secure(ctx context.Context, cfg *config.Config, srv *proxy.Server, reg prometheus.Registerer, sink *audit.Sink, log *zap.Logger) (*Security, error) {
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	cluster := func() string {
		if cfg.Authentication.ClusterID != "" {
			return cfg.Authentication.ClusterID
		}
		return srv.ClusterID()
	}
	cp, err := NewControlPlane(st, cfg, cluster, log.Named("state"))
	if err != nil {
		return nil, err
	}
	a, err := authn.New(authn.Options{
		Config:     cp.Authn(),
		ClusterID:  srv.ClusterID,
		Log:        log.Named("authn"),
		Registerer: reg,
		Audit:      sink,
		KeyUses:    st,
	})
	if err != nil {
		return nil, err
	}
	az, err := authz.NewAuthorizer(cp.Policy(), authz.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("authorization: %w", err)
	}
	srv.SetAuthenticator(a)
	a.Start(ctx)
	cp.Follow(a, az)
	srv.SetAuthorization(proxy.Authorization{
		Authorizer:      az,
		ACLs:            aclstore.New(st, cluster, cfg.APIKeys.StateFile == ""),
		Audit:           sink,
		AllowSampleRate: cfg.Authorization.AuditAllowedSampleRate,
	})
	return &Security{Store: st, ControlPlane: cp, Authenticator: a, Authorizer: az}, nil
}

// Started adds what waited for the upstream cluster's id: the role
// bindings of the configuration file that are scoped to it.
func (s *Security) Started() error { return s.ControlPlane.ClusterKnown() }

// Wait stops following the store and returns once the authenticator's
// goroutines have ended, with the last API key use times recorded. The
// context given to Secure must have ended.
func (s *Security) Wait() {
	s.ControlPlane.Stop()
	s.Authenticator.Wait()
}

// OpenStore opens the state store of cfg: the state file, watched for the
// changes of other processes until ctx ends, or an in-memory store when
// none is configured.
func OpenStore(ctx context.Context, cfg *config.Config, log *zap.Logger) (store.Store, error) {
	if cfg.APIKeys.StateFile == "" {
		return store.NewMemory(), nil
	}
	f, err := store.OpenFile(cfg.APIKeys.StateFile)
	if err != nil {
		return nil, err
	}
	go f.Watch(ctx, cfg.APIKeys.StatePollInterval.D(), func(err error) {
		log.Error("state file not reloaded; the state in force is kept", zap.Error(err))
	})
	return f, nil
}
