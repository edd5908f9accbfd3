package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// The embedded cluster's id and the demo account of `dev`.
const (
	devClusterID = "kafka-auth-proxy-dev"
	devAccount   = "sa-dev"
)

// devKey writes the demo account and a fresh API key to the state file.
func devKey(ctx context.Context, stateFile string) (id, secret string, err error) {
	if id, err = apikey.NewKeyID(); err != nil {
		return "", "", err
	}
	if secret, err = apikey.NewSecret(); err != nil {
		return "", "", err
	}
	hash, err := apikey.HashSecret(secret)
	if err != nil {
		return "", "", err
	}
	now := time.Now().UTC()
	err = store.Update(ctx, stateFile, func(st *store.State) error {
		st.Accounts = append(st.Accounts, store.Account{ID: devAccount, Description: "make run demo", Created: now})
		st.Keys = append(st.Keys, store.Key{ID: id, SecretHash: hash, Account: devAccount, Cluster: devClusterID,
			Description: "make run demo", Created: now})
		return nil
	})
	return id, secret, err
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
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the proxy in front of an embedded in-memory Kafka broker, with a demo API key",
		Long: `Run the proxy in front of an embedded in-memory Kafka broker (franz-go's
kfake), so that trying it needs nothing installed. A service account and an
API key are created in a temporary state file and printed, with kcat
commands that use them. --no-auth lets clients in without logging in.`,
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
				// The demo account may do anything; ACLs created with
				// kafka-acls or an admin client narrow other accounts.
				cfg.Authorization.RoleBindings = []config.RoleBinding{{Principal: "User:" + devAccount, Role: "CloudClusterAdmin"}}
				id, secret, err := devKey(cmd.Context(), cfg.APIKeys.StateFile)
				if err != nil {
					return err
				}
				login = fmt.Sprintf(`Log in with SASL/PLAIN, API key %s of service account %s (role CloudClusterAdmin):
  API key:    %s
  API secret: %s
More keys:  bin/kafka-auth-proxy api-key create --state-file %s --cluster %s --service-account %s
`, id, devAccount, id, secret, cfg.APIKeys.StateFile, devClusterID, devAccount)
				kcatLogin = fmt.Sprintf(" -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=PLAIN -X sasl.username=%s -X sasl.password=%s", id, secret)
			}
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
	return cmd
}
