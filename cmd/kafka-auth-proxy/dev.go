package main

import (
	"context"
	"fmt"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
)

// newDevCmd runs the proxy in front of an in-process broker (franz-go's
// kfake), so that trying the proxy needs nothing installed. It is what
// `make run` starts.
func newDevCmd() *cobra.Command {
	var (
		listen  string
		brokers int
		topic   string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the proxy in front of an embedded in-memory Kafka broker (no authentication)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fake, err := kfake.NewCluster(
				kfake.NumBrokers(brokers),
				kfake.AllowAutoTopicCreation(),
				kfake.SeedTopics(3, topic),
				kfake.ClusterID("kafka-auth-proxy-dev"),
			)
			if err != nil {
				return fmt.Errorf("embedded broker: %w", err)
			}
			defer fake.Close()

			cfg := config.Default()
			cfg.Auth = config.AuthNone
			cfg.Listener.Address = listen
			cfg.Upstream.Bootstrap = fake.ListenAddrs()
			cfg.Log.Format = "console"
			if problems := cfg.Validate(); len(problems) > 0 {
				return &config.ProblemsError{Source: "flags", Problems: problems}
			}
			if err := cfg.Normalize(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			out := cmd.OutOrStdout()
			return run(ctx, cfg, func(srv *proxy.Server) {
				fmt.Fprintf(out, `
kafka-auth-proxy is serving an embedded in-memory Kafka cluster (%d broker(s), upstream %s).
Bootstrap: %s    (no authentication: development only)
Metrics:   http://%s/metrics

Try it:
  kcat -b %s -L
  echo hello | kcat -b %s -P -t %s
  kcat -b %s -C -t %s -e

Press Ctrl-C to stop.
`, brokers, strings.Join(fake.ListenAddrs(), ","), srv.BootstrapAddr(), cfg.Metrics.Address,
					srv.BootstrapAddr(), srv.BootstrapAddr(), topic, srv.BootstrapAddr(), topic)
			})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:9092", "client bootstrap address")
	cmd.Flags().IntVar(&brokers, "brokers", 1, "number of embedded brokers")
	cmd.Flags().StringVar(&topic, "topic", "demo", "topic created at start")
	return cmd
}
