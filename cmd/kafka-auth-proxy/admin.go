package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/admin"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy/assemble"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
)

// adminServer is the management API's HTTP server.
type adminServer struct {
	*http.Server
	addr string
	tls  bool
}

// URL is where the API is served.
func (a *adminServer) URL() string {
	scheme := "http"
	if a.tls {
		scheme = "https"
	}
	return scheme + "://" + a.addr
}

// adminScope is the scope of the management API for cfg.
func adminScope(cfg *config.Config, cluster func() string) admin.Scope {
	return admin.Scope{Organization: cfg.Organization.ID, Environment: cfg.Organization.Environment, Cluster: cluster}
}

// startAdmin serves the management API on cfg.Admin.Address.
func startAdmin(cfg *config.Config, sec *assemble.Security, sink *audit.Sink,
	reg prometheus.Registerer, cluster func() string, srv *proxy.Server, log *zap.Logger) (*adminServer, error) {
	api, err := admin.New(admin.Options{
		Store:          sec.Store,
		Scope:          adminScope(cfg, cluster),
		Authenticator:  sec.Authenticator,
		Audit:          sink,
		Registerer:     reg,
		Log:            log,
		ProviderURLs:   sec.ControlPlane.URLs,
		MaxBodyBytes:   int64(cfg.Admin.MaxBodyBytes),
		TrustedProxies: assemble.Networks(cfg.Admin.TrustedProxies),
		Ready: func() error {
			if !srv.Ready() {
				return errors.New("upstream cluster not reachable")
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Admin.Address)
	if err != nil {
		return nil, fmt.Errorf("admin.address: %w", err)
	}
	hs := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(log),
	}
	a := &adminServer{Server: hs, addr: ln.Addr().String()}
	if t := cfg.Admin.TLS; t != nil {
		tc, err := proxy.ServerTLSConfig(&proxy.ServerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFile: t.ClientCAFile})
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("admin.tls: %w", err)
		}
		hs.TLSConfig = tc
		a.tls = true
	}
	go func() {
		var err error
		if a.tls {
			err = hs.ServeTLS(ln, "", "")
		} else {
			err = hs.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin API stopped", zap.Error(err))
		}
	}()
	log.Info("serving the admin API", zap.String("url", a.URL()))
	return a, nil
}
