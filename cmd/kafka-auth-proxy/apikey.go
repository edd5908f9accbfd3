package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy/assemble"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// defaultConfigEnv names the configuration file of the management commands
// when --config is not given.
const defaultConfigEnv = "KAFKA_AUTH_PROXY_CONFIG"

// stateFlags locate the state file: --state-file, or the api_keys.state_file
// of --config (default $KAFKA_AUTH_PROXY_CONFIG).
type stateFlags struct {
	configFile string
	stateFile  string
	output     string
}

func (f *stateFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.configFile, "config", os.Getenv(defaultConfigEnv), "the proxy's configuration file (default $"+defaultConfigEnv+")")
	cmd.PersistentFlags().StringVar(&f.stateFile, "state-file", "", "the state file (default: api_keys.state_file of --config)")
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", "human", "output format: human or json")
}

// open returns the configuration (nil without --config) and the state file.
func (f *stateFlags) open() (*config.Config, string, error) {
	var cfg *config.Config
	if f.configFile != "" {
		c, err := assemble.Load(f.configFile)
		if err != nil {
			return nil, "", err
		}
		cfg = c
	}
	path := f.stateFile
	if path == "" && cfg != nil {
		path = cfg.APIKeys.StateFile
	}
	if path == "" {
		return nil, "", errors.New("no state file: pass --state-file, or --config with api_keys.state_file set")
	}
	if f.output != "human" && f.output != "json" {
		return nil, "", fmt.Errorf("--output must be human or json; got %q", f.output)
	}
	return cfg, path, nil
}

func newAPIKeyCmd() *cobra.Command {
	var f stateFlags
	cmd := &cobra.Command{
		Use:   "api-key",
		Short: "Manage API keys (SASL/PLAIN credentials)",
		Long: `Manage API keys. A key id and its secret are a client's SASL/PLAIN username
and password; the connection's principal is the key's account (User:sa-...).

Keys are written to the state file (api_keys.state_file), which the running
proxy re-reads within a second: a new key works, and a deleted key's open
connections are closed, without a restart.`,
	}
	f.register(cmd)
	cmd.AddCommand(newAPIKeyCreateCmd(&f), newAPIKeyListCmd(&f), newAPIKeyDeleteCmd(&f), newAPIKeyHashCmd())
	return cmd
}

func newAPIKeyCreateCmd(f *stateFlags) *cobra.Command {
	var account, description, cluster string
	cmd := &cobra.Command{
		Use:   "create --service-account ID",
		Short: "Create an API key and print its secret once",
		Example: `  kafka-auth-proxy api-key create --service-account sa-a1b2c3 --description "payments producer"
  kafka-auth-proxy api-key create --service-account u-alice -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, path, err := f.open()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			if cluster == "" {
				if cluster, err = clusterOf(ctx, cfg); err != nil {
					return err
				}
			}
			id, err := apikey.NewKeyID()
			if err != nil {
				return err
			}
			secret, err := apikey.NewSecret()
			if err != nil {
				return err
			}
			hash, err := apikey.HashSecret(secret)
			if err != nil {
				return err
			}
			err = store.Update(ctx, path, func(st *store.State) error {
				if !accountExists(cfg, st, account) {
					return fmt.Errorf("account %q does not exist: create it with `kafka-auth-proxy service-account create`", account)
				}
				st.Keys = append(st.Keys, store.Key{ID: id, SecretHash: hash, Account: account, Cluster: cluster,
					Description: description, Created: time.Now().UTC()})
				return nil
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.output == "json" {
				return json.NewEncoder(out).Encode(map[string]string{"api_key": id, "api_secret": secret, "account": account, "cluster": cluster})
			}
			fmt.Fprintf(out, "Save the API key and secret. The secret is not retrievable later.\n")
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "API Key\t%s\nAPI Secret\t%s\nAccount\t%s\nCluster\t%s\n", id, secret, account, cluster)
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&account, "service-account", "", "owning account: a service account (sa-...) or user account (u-...)")
	cmd.Flags().StringVar(&description, "description", "", "what the key is for")
	cmd.Flags().StringVar(&cluster, "cluster", "", "cluster id the key is valid for (default: authentication.cluster_id, else the upstream cluster's id)")
	_ = cmd.MarkFlagRequired("service-account")
	return cmd
}

// clusterOf is the cluster new keys are scoped to.
func clusterOf(ctx context.Context, cfg *config.Config) (string, error) {
	if cfg == nil {
		return "", errors.New("--cluster is required without --config")
	}
	if cfg.Authentication.ClusterID != "" {
		return cfg.Authentication.ClusterID, nil
	}
	up := assemble.Proxy(cfg)
	id, err := proxy.UpstreamClusterID(ctx, up.Upstream, up.Limits.MaxResponseBytes)
	if err != nil {
		return "", fmt.Errorf("cannot learn the upstream cluster id (pass --cluster): %w", err)
	}
	return id, nil
}

func accountExists(cfg *config.Config, st *store.State, id string) bool {
	if cfg != nil && slices.ContainsFunc(cfg.APIKeys.Accounts, func(a config.Account) bool { return a.ID == id }) {
		return true
	}
	return slices.ContainsFunc(st.Accounts, func(a store.Account) bool { return a.ID == id })
}

// keyRow is one line of `api-key list`.
type keyRow struct {
	Key         string     `json:"api_key"`
	Account     string     `json:"account"`
	Cluster     string     `json:"cluster"`
	Description string     `json:"description,omitempty"`
	Created     *time.Time `json:"created,omitempty"`
	LastUsed    *time.Time `json:"last_used,omitempty"`
	Source      string     `json:"source"`
}

func newAPIKeyListCmd(f *stateFlags) *cobra.Command {
	var account string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List API keys with their owner and last use (never secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, path, err := f.open()
			if err != nil {
				return err
			}
			st, err := store.Load(path)
			if err != nil {
				return err
			}
			used, err := store.LoadLastUsed(path)
			if err != nil {
				return err
			}
			var rows []keyRow
			if cfg != nil {
				for _, k := range cfg.APIKeys.Keys {
					rows = append(rows, keyRow{Key: k.ID, Account: k.Account, Cluster: k.Cluster, Description: k.Description, Source: "config"})
				}
			}
			for _, k := range st.Keys {
				created := k.Created
				rows = append(rows, keyRow{Key: k.ID, Account: k.Account, Cluster: k.Cluster, Description: k.Description, Created: &created, Source: "state"})
			}
			rows = slices.DeleteFunc(rows, func(r keyRow) bool { return account != "" && r.Account != account })
			for i := range rows {
				if t, ok := used[rows[i].Key]; ok {
					rows[i].LastUsed = &t
				}
			}
			slices.SortFunc(rows, func(a, b keyRow) int { return strings.Compare(a.Account+a.Key, b.Account+b.Key) })
			out := cmd.OutOrStdout()
			if f.output == "json" {
				if rows == nil {
					rows = []keyRow{}
				}
				return json.NewEncoder(out).Encode(rows)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "API KEY\tACCOUNT\tCLUSTER\tCREATED\tLAST USED\tSOURCE\tDESCRIPTION")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Key, r.Account, r.Cluster, timeOrDash(r.Created), timeOrDash(r.LastUsed), r.Source, r.Description)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&account, "service-account", "", "only the keys of this account")
	return cmd
}

func timeOrDash(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func newAPIKeyDeleteCmd(f *stateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete KEY...",
		Short: "Delete API keys; their open connections are closed within seconds",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, path, err := f.open()
			if err != nil {
				return err
			}
			if cfg != nil {
				for _, k := range cfg.APIKeys.Keys {
					if slices.Contains(args, k.ID) {
						return fmt.Errorf("key %s is declared in %s: remove it there (the proxy reloads the file)", k.ID, f.configFile)
					}
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			err = store.Update(ctx, path, func(st *store.State) error {
				for _, id := range args {
					i := slices.IndexFunc(st.Keys, func(k store.Key) bool { return k.ID == id })
					if i < 0 {
						return fmt.Errorf("API key %s does not exist", id)
					}
					st.Keys = slices.Delete(st.Keys, i, i+1)
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, id := range args {
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted API key %q.\n", id)
			}
			return nil
		},
	}
}

func newAPIKeyHashCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hash",
		Short: "Print the salted hash of a secret read from standard input, for api_keys.keys[].secret_hash",
		Long: `Print the salted hash of a secret read from standard input (one line), to
declare a key in the configuration file instead of the state file:

  kafka-auth-proxy api-key hash < secret.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			secret := strings.TrimRight(line, "\r\n")
			if len(secret) < 32 {
				return errors.New("the secret must be at least 32 characters; generate keys with `api-key create`")
			}
			h, err := apikey.HashSecret(secret)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), h)
			return nil
		},
	}
}
