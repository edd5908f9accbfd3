package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy/assemble"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// firstAdmin is what bootstrapAdmin created.
type firstAdmin struct {
	Account   string `json:"service_account"`
	Principal string `json:"principal"`
	Binding   string `json:"role_binding"`
	Key       string `json:"api_key"`
	Secret    string `json:"api_secret"`
}

// bootstrapAdmin creates the first OrganizationAdmin of org in st: a
// service account named name, its OrganizationAdmin binding and a cloud
// API key, in one write that is refused when an OrganizationAdmin exists.
func bootstrapAdmin(ctx context.Context, st store.Store, org, name string) (*firstAdmin, error) {
	snap := st.Snapshot()
	for _, b := range snap.RoleBindings() {
		if store.IsOrganizationAdmin(b) {
			return nil, fmt.Errorf("an OrganizationAdmin exists already (%s, binding %s): bootstrap runs once; log in as an OrganizationAdmin to create more", b.Principal, b.Metadata.ID)
		}
	}
	account, err := store.NewAccountID(store.ServiceAccountPrefix)
	if err != nil {
		return nil, err
	}
	binding, err := store.NewID(store.RoleBindingPrefix)
	if err != nil {
		return nil, err
	}
	key, err := apikey.NewKeyID()
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
	_, err = st.Apply(ctx,
		store.NoOrganizationAdmin(),
		store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: account}, DisplayName: name, Description: "the first OrganizationAdmin, made by admin bootstrap"}),
		store.Create(&store.RoleBinding{Metadata: store.Meta{ID: binding}, Principal: store.Principal(account),
			RoleName: store.RoleOrganizationAdmin, CRNPattern: store.OrganizationCRN(org)}),
		store.Create(&store.APIKey{Metadata: store.Meta{ID: key}, SecretHash: hash, Owner: account, Resource: store.ResourceCloud,
			DisplayName: name, Description: "cloud key of the first OrganizationAdmin"}),
	)
	if errors.Is(err, store.ErrExists) {
		return nil, fmt.Errorf("bootstrap refused: %w", err)
	}
	if err != nil {
		return nil, err
	}
	return &firstAdmin{Account: account, Principal: store.Principal(account), Binding: binding, Key: key, Secret: secret}, nil
}

func newAdminCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Set up the management API",
	}
	cmd.AddCommand(newBootstrapCmd())
	return cmd
}

func newBootstrapCmd() *cobra.Command {
	var configFile, name, output string
	cmd := &cobra.Command{
		Use:   "bootstrap --config FILE",
		Short: "Create the first OrganizationAdmin and its cloud API key, offline, once",
		Long: `Create the first OrganizationAdmin: a service account, its OrganizationAdmin
role binding on the organization, and a cloud API key for the admin API. It
works on the state file (api_keys.state_file) directly, with or without the
proxy running, prints the secret once, and refuses to run once an
OrganizationAdmin exists.`,
		Example: `  kafka-auth-proxy admin bootstrap --config /etc/kafka-auth-proxy/proxy.yaml
  kafka-auth-proxy login --url http://127.0.0.1:8090 --api-key KEY --api-secret SECRET`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "human" && output != "json" {
				return fmt.Errorf("--output must be human or json; got %q", output)
			}
			cfg, err := assemble.Load(configFile)
			if err != nil {
				return err
			}
			if cfg.APIKeys.StateFile == "" {
				return errors.New("the configuration has no api_keys.state_file, where the admin would be kept")
			}
			f, err := store.OpenFile(cfg.APIKeys.StateFile)
			if err != nil {
				return err
			}
			if err := setStaticOffline(f, cfg); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			a, err := bootstrapAdmin(ctx, f, cfg.Organization.ID, name)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				return json.NewEncoder(out).Encode(a)
			}
			fmt.Fprintf(out, `Created the first OrganizationAdmin of %s.
  Service account  %s (%s)
  Role binding     %s  OrganizationAdmin on %s
  API key          %s
  API secret       %s

Save the secret now: it is not shown again, and only its hash is stored.
Log in with:
  kafka-auth-proxy login --url URL --api-key %s --api-secret '%s'
`, cfg.Organization.ID, a.Account, name, a.Binding, store.OrganizationCRN(cfg.Organization.ID), a.Key, a.Secret, a.Key, a.Secret)
			return nil
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "the proxy's configuration file")
	cmd.Flags().StringVar(&name, "name", "organization-admin", "display name of the service account")
	cmd.Flags().StringVarP(&output, "output", "o", "human", "output format: human or json")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// setStaticOffline gives f the configuration's objects, so that offline
// commands see and respect them. Bindings that need the upstream's
// cluster id are left out when the file does not set it.
func setStaticOffline(f store.Store, cfg *config.Config) error {
	objs, err := assemble.Static(cfg, cfg.Authentication.ClusterID)
	if err != nil {
		return err
	}
	f.SetStatic(objs)
	return nil
}
