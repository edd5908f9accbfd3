package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/admin"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy/assemble"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// offlineServer is the management API over the state file itself, for
// the CLI on the proxy's host: the state file of --state-file, or of the
// configuration file, with the configuration's objects (read-only) and
// scope. The caller has every right, as access to the file grants them.
// The cluster id comes from authentication.cluster_id, else from the
// upstream cluster; without a configuration file it is unknown, and
// cluster keys cannot be created.
func offlineServer(ctx context.Context, configFile, stateFile string) (*admin.Server, func(), error) {
	var cfg *config.Config
	if configFile != "" {
		c, err := assemble.Load(configFile)
		if err != nil {
			return nil, nil, err
		}
		cfg = c
	}
	if stateFile == "" && cfg != nil {
		stateFile = cfg.APIKeys.StateFile
	}
	if stateFile == "" {
		return nil, nil, errors.New("no state file: pass --state-file, or --config with api_keys.state_file set")
	}
	st, err := store.OpenFile(stateFile)
	if err != nil {
		return nil, nil, err
	}
	scope := config.Default().Organization
	cluster := ""
	if cfg != nil {
		scope = cfg.Organization
		if cluster, err = offlineCluster(ctx, cfg); err != nil {
			return nil, nil, err
		}
		objs, err := assemble.Static(cfg, cluster)
		if err != nil {
			return nil, nil, err
		}
		st.SetStatic(objs)
	}
	srv, err := admin.New(admin.Options{
		Store:               st,
		Scope:               admin.Scope{Organization: scope.ID, Environment: scope.Environment, Cluster: func() string { return cluster }},
		AllowedProviderURLs: allowedURLs(cfg),
	})
	if err != nil {
		return nil, nil, err
	}
	return srv, func() {}, nil
}

func allowedURLs(cfg *config.Config) []string {
	if cfg == nil {
		return nil
	}
	return cfg.Admin.AllowedProviderURLs
}

// offlineCluster is the proxy's cluster id: the configured one, or the
// upstream cluster's.
func offlineCluster(ctx context.Context, cfg *config.Config) (string, error) {
	if cfg.Authentication.ClusterID != "" {
		return cfg.Authentication.ClusterID, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	up := assemble.Proxy(cfg)
	id, err := proxy.UpstreamClusterID(ctx, up.Upstream, up.Limits.MaxResponseBytes)
	if err != nil {
		return "", fmt.Errorf("cannot learn the upstream cluster id (set authentication.cluster_id, or make the upstream reachable): %w", err)
	}
	return id, nil
}
