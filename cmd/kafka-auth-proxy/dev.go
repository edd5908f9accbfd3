package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// The embedded cluster's id.
const devClusterID = "kafka-auth-proxy-dev"

// devAccess is what `dev` creates in its state file: the first
// OrganizationAdmin with its cloud key, and a cluster key of the same
// account for Kafka clients.
type devAccess struct {
	admin       *firstAdmin
	key, secret string
}

func devSetup(ctx context.Context, stateFile, org string) (*devAccess, error) {
	f, err := store.OpenFile(stateFile)
	if err != nil {
		return nil, err
	}
	a, err := bootstrapAdmin(ctx, f, org, "dev-admin")
	if err != nil {
		return nil, err
	}
	id, err := apikey.NewKeyID()
	if err != nil {
		return nil, err
	}
	secret, err := apikey.NewSecret()
	if err != nil {
		return nil, err
	}
	hash, err := apikey.HashSecret(secret)
	if err != nil {
		return nil, err
	}
	_, err = f.Apply(ctx, store.Create(&store.APIKey{Metadata: store.Meta{ID: id}, SecretHash: hash, Owner: a.Account,
		Resource: devClusterID, DisplayName: "dev", Description: "make run demo"}))
	if err != nil {
		return nil, err
	}
	return &devAccess{admin: a, key: id, secret: secret}, nil
}

// newDevCmd runs the proxy in front of an in-process broker (franz-go's
// kfake), so that trying the proxy needs nothing installed. It is what
// `make run` starts.
func newDevCmd() *cobra.Command {
	var (
		listen  string
		brokers int
		topic   string
		noAuth  bool

		adminListen   string
		metricsListen string
		providerURLs  []string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the proxy in front of an embedded in-memory Kafka broker, with a demo API key",
		Long: `Run the proxy in front of an embedded in-memory Kafka broker (franz-go's
kfake), so that trying it needs nothing installed. A service account and an
API key are created in a temporary state file and printed, with kcat
commands that use them, and the admin API is served on 127.0.0.1:8090 with
a cloud key of the same account, an OrganizationAdmin. --no-auth lets
clients in without logging in.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fake, err := kfake.NewCluster(
				kfake.NumBrokers(brokers),
				kfake.AllowAutoTopicCreation(),
				kfake.SeedTopics(3, topic),
				kfake.ClusterID(devClusterID),
			)
			if err != nil {
				return fmt.Errorf("embedded broker: %w", err)
			}
			defer fake.Close()

			cfg := config.Default()
			cfg.Auth = config.AuthNone
			var login, kcatLogin string
			if !noAuth {
				dir, err := os.MkdirTemp("", "kafka-auth-proxy-dev-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				cfg.Auth = config.AuthSASL
				cfg.Authentication.ClusterID = devClusterID
				cfg.APIKeys.StateFile = filepath.Join(dir, "state.json")
				cfg.Admin.Address = adminListen
				cfg.Admin.AllowedProviderURLs = providerURLs
				acc, err := devSetup(cmd.Context(), cfg.APIKeys.StateFile, cfg.Organization.ID)
				if err != nil {
					return err
				}
				login = fmt.Sprintf(`Log in with SASL/PLAIN, API key %s of service account %s (OrganizationAdmin):
  API key:    %s
  API secret: %s
`, acc.key, acc.admin.Account, acc.key, acc.secret)
				if adminListen != "" {
					login += fmt.Sprintf(`Admin API:  http://%s (cloud API key %s)
  bin/kafka-auth-proxy login --url http://%s --api-key %s --api-secret %s
  bin/kafka-auth-proxy iam service-account create payments
  bin/kafka-auth-proxy api-key create --service-account sa-... --resource %s
`, adminListen, acc.admin.Key, adminListen, acc.admin.Key, acc.admin.Secret, devClusterID)
				}
				kcatLogin = fmt.Sprintf(" -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=PLAIN -X sasl.username=%s -X sasl.password=%s", acc.key, acc.secret)
			}
			cfg.Listener.Address = listen
			cfg.Metrics.Address = metricsListen
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
			return run(ctx, cfg, nil, func(srv *proxy.Server) {
				mode := "clients log in with an API key"
				if noAuth {
					mode = "no authentication: development only"
				}
				b := srv.BootstrapAddr() + kcatLogin
				fmt.Fprintf(out, `
kafka-auth-proxy is serving an embedded in-memory Kafka cluster (%d broker(s), upstream %s).
Bootstrap: %s    (%s)
Metrics:   http://%s/metrics
%s
Try it:
  kcat -b %s -L
  echo hello | kcat -b %s -P -t %s
  kcat -b %s -C -t %s -e

Press Ctrl-C to stop.
`, brokers, strings.Join(fake.ListenAddrs(), ","), srv.BootstrapAddr(), mode, cfg.Metrics.Address, login,
					b, b, topic, b, topic)
			})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:9092", "client bootstrap address")
	cmd.Flags().IntVar(&brokers, "brokers", 1, "number of embedded brokers")
	cmd.Flags().StringVar(&topic, "topic", "demo", "topic created at start")
	cmd.Flags().BoolVar(&noAuth, "no-auth", false, "let clients in without logging in")
	cmd.Flags().StringVar(&adminListen, "admin-listen", "127.0.0.1:8090", `address of the admin API ("" turns it off)`)
	cmd.Flags().StringVar(&metricsListen, "metrics-listen", "127.0.0.1:9404", `address of /metrics, /healthz and /readyz ("" turns it off)`)
	cmd.Flags().StringSliceVar(&providerURLs, "allow-provider-url", nil, "a URL prefix identity providers registered through the admin API may use (admin.allowed_provider_urls); repeatable")
	return cmd
}
