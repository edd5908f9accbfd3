package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os/signal"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy/assemble"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
)

type serveFlags struct {
	configFile     string
	upstream       string
	listen         string
	advertisedHost string
	brokerPortBase int
	metricsListen  string
	noAuth         bool
	logLevel       string
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the proxy",
		Long: `Run the proxy, from a configuration file or, for a quick start, from flags:

  kafka-auth-proxy serve --config proxy.yaml
  kafka-auth-proxy serve --upstream broker1:9092,broker2:9092 --listen 127.0.0.1:9092 --no-auth

Flags given together with --config override the file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			var reload *reloader
			if f.configFile != "" {
				reload = &reloader{path: f.configFile, load: func() (*config.Config, error) { return f.load(cmd) }}
			}
			return run(ctx, cfg, reload, nil)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configFile, "config", "", "configuration file (YAML)")
	fl.StringVar(&f.upstream, "upstream", "", "upstream bootstrap brokers, host:port[,host:port]")
	fl.StringVar(&f.listen, "listen", "", "client bootstrap address, host:port (default 127.0.0.1:9092)")
	fl.StringVar(&f.advertisedHost, "advertised-host", "", "host name clients are told to connect to")
	fl.IntVar(&f.brokerPortBase, "broker-port-base", 0, "broker N is served on this port + N (default: bootstrap port + 1)")
	fl.StringVar(&f.metricsListen, "metrics-listen", "", "address for /metrics, /healthz and /readyz (default 127.0.0.1:9404)")
	fl.BoolVar(&f.noAuth, "no-auth", false, "let clients through without authentication (development and benchmarks only)")
	fl.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error")
	return cmd
}

// load builds the configuration from --config and the flags that override it.
func (f *serveFlags) load(cmd *cobra.Command) (*config.Config, error) {
	var cfg *config.Config
	if f.configFile != "" {
		c, err := assemble.Load(f.configFile)
		if err != nil {
			return nil, err
		}
		cfg = c
	} else {
		if f.upstream == "" {
			return nil, errors.New("either --config FILE or --upstream HOST:PORT is required")
		}
		if !f.noAuth {
			return nil, errors.New("client authentication is not configured: pass --no-auth to let clients through unauthenticated (development only), or use --config")
		}
		cfg = config.Default()
	}
	changed := cmd.Flags().Changed
	if changed("upstream") {
		cfg.Upstream.Bootstrap = strings.Split(f.upstream, ",")
	}
	if changed("listen") {
		cfg.Listener.Address = f.listen
		if !changed("broker-port-base") && f.configFile != "" {
			cfg.Listener.BrokerPortBase = 0 // derive again from the new address
		}
	}
	if changed("advertised-host") {
		cfg.Listener.AdvertisedHost = f.advertisedHost
	}
	if changed("broker-port-base") {
		cfg.Listener.BrokerPortBase = f.brokerPortBase
	}
	if changed("metrics-listen") {
		cfg.Metrics.Address = f.metricsListen
	}
	if changed("log-level") {
		cfg.Log.Level = f.logLevel
	}
	if f.noAuth {
		cfg.Auth = config.AuthNone
	}
	if problems := cfg.Validate(); len(problems) > 0 {
		return nil, &config.ProblemsError{Source: "flags", Problems: problems}
	}
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// run serves until ctx ends, then shuts down gracefully. reload, when not
// nil, re-reads the configuration file when it changes or on SIGHUP.
// started, when not nil, is called once the proxy listens.
func run(parent context.Context, cfg *config.Config, reload *reloader, started func(*proxy.Server)) error {
	// ctx also ends when run returns early, which stops the goroutines
	// of the authenticator and the state store.
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	log, err := newLogger(cfg.Log)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // nothing to do if stderr is gone

	if cfg.Auth == config.AuthNone {
		log.Warn("CLIENT AUTHENTICATION IS DISABLED (auth: none): any client that reaches the listener gets full access to the upstream cluster; use only for development and benchmarks")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := proxy.NewServer(assemble.Proxy(cfg), log, reg)
	if err != nil {
		return err
	}
	auditSink, err := audit.Open(cfg.Audit.Output)
	if err != nil {
		return fmt.Errorf("audit.output: %w", err)
	}
	defer auditSink.Close()
	cluster := func() string { return cmp.Or(cfg.Authentication.ClusterID, srv.ClusterID()) }
	var sec *assemble.Security
	if cfg.Auth == config.AuthSASL {
		if sec, err = assemble.Secure(ctx, cfg, srv, reg, auditSink, log); err != nil {
			return err
		}
		defer func() {
			cancel()
			sec.Wait() // the last API key use times are written
		}()
		if reload != nil {
			reload.cp, reload.log, reload.current = sec.ControlPlane, log, cfg
			go reload.watch(ctx)
		}
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	if sec != nil && cfg.Authentication.ClusterID == "" {
		// Role bindings of the configuration file scoped to the proxy's
		// cluster apply once the upstream's id is known.
		if err := sec.Started(); err != nil {
			_ = srv.Shutdown(context.Background())
			return err
		}
	}
	httpSrv, err := startHTTP(cfg.Metrics.Address, reg, srv, log)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}
	var adminSrv *adminServer
	if cfg.Admin.Address != "" && sec != nil {
		adminSrv, err = startAdmin(cfg, sec, auditSink, reg, cluster, srv, log.Named("admin"))
		if err != nil {
			_ = srv.Shutdown(context.Background())
			return err
		}
	}
	if started != nil {
		started(srv)
	}
	<-ctx.Done()
	log.Info("shutting down: draining in-flight requests", zap.Duration("timeout", cfg.ShutdownTimeout.D()))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout.D())
	defer cancel()
	if httpSrv != nil {
		_ = httpSrv.Shutdown(sctx)
	}
	if adminSrv != nil {
		_ = adminSrv.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown incomplete", zap.Error(err))
	}
	log.Info("stopped")
	return nil
}

func newLogger(c config.Log) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	zc := zap.NewProductionConfig()
	if c.Format == "console" {
		zc = zap.NewDevelopmentConfig()
		zc.DisableStacktrace = true
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.OutputPaths = []string{"stderr"}
	return zc.Build()
}
