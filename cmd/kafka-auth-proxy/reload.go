package main

import (
	"context"
	"os"
	"os/signal"
	"reflect"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy/assemble"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
)

// configPollInterval is how often the configuration file is checked for
// changes.
const configPollInterval = 2 * time.Second

// reloader applies changes of the configuration file to the running proxy:
// its credentials (accounts, API keys, identity providers and pools, the
// listeners' SASL mechanisms), authentication settings and authorization
// policy (ACLs, role bindings, super users) take effect at once, so removing
// a key or a grant needs no restart. Other sections are read at start-up only; a change
// to them is logged. A file that does not load is reported and the running
// configuration is kept.
type reloader struct {
	path string
	load func() (*config.Config, error)

	cp      *assemble.ControlPlane
	log     *zap.Logger
	current *config.Config
}

func (r *reloader) watch(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	last := fileStamp(r.path)
	t := time.NewTicker(configPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.log.Info("SIGHUP: reloading the configuration", zap.String("path", r.path))
		case <-t.C:
			stamp := fileStamp(r.path)
			if stamp == last {
				continue
			}
			last = stamp
			r.log.Info("configuration file changed: reloading", zap.String("path", r.path))
		}
		r.reload()
	}
}

func (r *reloader) reload() {
	next, err := r.load()
	if err != nil {
		r.log.Error("configuration not reloaded; the running one is kept", zap.Error(err))
		return
	}
	if next.Auth != r.current.Auth {
		r.log.Error("configuration not reloaded: auth cannot change without a restart", zap.String("running", r.current.Auth), zap.String("file", next.Auth))
		return
	}
	if err := r.cp.SetConfig(next); err != nil {
		r.log.Error("configuration not reloaded; the running one is kept", zap.Error(err))
		return
	}
	if restartOnly(r.current, next) {
		r.log.Warn("configuration reloaded; changes outside authentication, api_keys, oidc and the authorization policy take effect after a restart")
	} else {
		r.log.Info("configuration reloaded")
	}
	r.current = next
}

// restartOnly reports whether sections that are only read at start-up
// differ.
func restartOnly(a, b *config.Config) bool {
	x, y := *a, *b
	x.Authentication, y.Authentication = config.Authentication{}, config.Authentication{}
	x.APIKeys, y.APIKeys = config.APIKeys{}, config.APIKeys{}
	x.OIDC, y.OIDC = config.OIDC{}, config.OIDC{}
	x.Authorization.SuperUsers, y.Authorization.SuperUsers = nil, nil
	x.Authorization.AllowIfNoACL, y.Authorization.AllowIfNoACL = false, false
	x.Authorization.ACLs, y.Authorization.ACLs = nil, nil
	x.Authorization.RoleBindings, y.Authorization.RoleBindings = nil, nil
	x.Admin.AllowedProviderURLs, y.Admin.AllowedProviderURLs = nil, nil
	x.Listener.SASLMechanisms, y.Listener.SASLMechanisms = nil, nil
	x.ExtraListeners, y.ExtraListeners = withoutMechanisms(x.ExtraListeners), withoutMechanisms(y.ExtraListeners)
	return !reflect.DeepEqual(x, y)
}

func withoutMechanisms(ls []config.Listener) []config.Listener {
	out := make([]config.Listener, len(ls))
	for i, l := range ls {
		l.SASLMechanisms = nil
		out[i] = l
	}
	return out
}

// fileStamp identifies a version of a file by modification time and size.
type stamp struct {
	mod  time.Time
	size int64
}

func fileStamp(path string) stamp {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}
	}
	return stamp{fi.ModTime(), fi.Size()}
}
