package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/admin"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

const apiKeysPath = "/iam/v2/api-keys"

func newAPIKeyCmd() *cobra.Command {
	var f connFlags
	cmd := &cobra.Command{
		Use:   "api-key",
		Short: "Manage API keys: cluster keys for Kafka clients, cloud keys for the admin API",
		Long: `Manage API keys. A cluster key (--resource lkc-...) logs Kafka clients in
over SASL/PLAIN on that cluster: the key is the username, the secret the
password, and the connection acts as the key's owner (User:sa-...) with the
owner's current role bindings and ACLs. A cloud key (--resource cloud)
authenticates to the admin API and never to Kafka.

A new key works at once, and a deleted key's connections are closed.`,
	}
	f.register(cmd)
	cmd.AddCommand(newAPIKeyCreateCmd(&f), newAPIKeyListCmd(&f), newAPIKeyDescribeCmd(&f), newAPIKeyUpdateCmd(&f),
		newAPIKeyDeleteCmd(&f), newAPIKeyHashCmd())
	return cmd
}

func apiKeyFields(k admin.APIKey) []field {
	return append([]field{
		{"Key", k.ID},
		{"Name", k.Spec.DisplayName},
		{"Description", k.Spec.Description},
		{"Owner", k.Spec.Owner.ID},
		{"Owner Kind", k.Spec.Owner.Kind},
		{"Resource Type", k.Spec.Resource.Kind},
		{"Resource", k.Spec.Resource.ID},
		{"Last Used", timePtrString(k.Spec.LastUsedAt)},
	}, metaFields(k.Metadata)...)
}

func newAPIKeyCreateCmd(f *connFlags) *cobra.Command {
	var owner, resource, description, name string
	cmd := &cobra.Command{
		Use:   "create --service-account ID [--resource lkc-...|cloud]",
		Short: "Create an API key and print its secret, once",
		Example: `  kafka-auth-proxy api-key create --service-account sa-a1b2c3 --resource lkc-prod1 --description "payments producer"
  kafka-auth-proxy api-key create --service-account sa-admin1 --resource cloud -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				if resource == "" {
					// A cluster key for the one cluster, as before
					// --resource existed.
					var err error
					if resource, err = onlyCluster(ctx, s.client, "--resource"); err != nil {
						return err
					}
				}
				var body admin.APIKeyCreate
				body.Spec.Owner.ID = owner
				body.Spec.Resource.ID = resource
				body.Spec.Description = description
				body.Spec.DisplayName = name
				raw, err := s.client.call(ctx, request{method: http.MethodPost, path: apiKeysPath, body: body}, nil)
				if err != nil {
					return err
				}
				if !s.out.human() {
					// The answer, secret included: this is its one
					// showing.
					return s.out.raw(raw)
				}
				var k admin.APIKey
				if err := json.Unmarshal(raw, &k); err != nil {
					return fmt.Errorf("POST %s: unexpected answer: %w", apiKeysPath, err)
				}
				if k.Spec.Secret == "" {
					return fmt.Errorf("POST %s: the answer holds no secret for key %s; delete the key and create another", apiKeysPath, k.ID)
				}
				s.out.line("Save the API key and secret now: the secret is shown only this once and cannot be retrieved later.")
				if k.Spec.Resource.ID == store.ResourceCloud {
					s.out.line("This cloud key authenticates to the admin API; it works at once.")
				} else {
					s.out.line("This key logs Kafka clients in to %s over SASL/PLAIN (username: the key, password: the secret); it works at once.", k.Spec.Resource.ID)
				}
				if err := s.out.fields([]field{
					{"API Key", k.ID},
					{"API Secret", k.Spec.Secret},
					{"Owner", k.Spec.Owner.ID},
					{"Resource", k.Spec.Resource.ID},
				}); err != nil {
					return err
				}
				if k.Spec.Owner.Kind == "User" && k.Spec.Resource.ID != store.ResourceCloud {
					s.out.line("Note: keys of user accounts are for development; give applications a service account's key.")
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&owner, "service-account", "", "the key's owner: a service account (sa-...) or a user account (u-...)")
	cmd.Flags().StringVar(&resource, "resource", "", "a cluster id (lkc-...) for a Kafka client key, or cloud for an admin API key (default: the one cluster)")
	cmd.Flags().StringVar(&description, "description", "", "what the key is for")
	cmd.Flags().StringVar(&name, "display-name", "", "a name for the key")
	_ = cmd.MarkFlagRequired("service-account")
	return cmd
}

func newAPIKeyListCmd(f *connFlags) *cobra.Command {
	var owner, resource string
	cmd := &cobra.Command{
		Use:   "list [--service-account ID] [--resource lkc-...|cloud]",
		Short: "List API keys with their owner and last use (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				q := url.Values{}
				if owner != "" {
					q.Set("spec.owner", owner)
				}
				if resource != "" {
					q.Set("spec.resource", resource)
				}
				return listObjects(ctx, s, apiKeysPath, q,
					[]string{"Key", "Description", "Owner", "Resource Type", "Resource", "Created", "Last Used"},
					func(k admin.APIKey) []string {
						return []string{k.ID, k.Spec.Description, k.Spec.Owner.ID, k.Spec.Resource.Kind, k.Spec.Resource.ID,
							timeString(k.Metadata.CreatedAt), timePtrString(k.Spec.LastUsedAt)}
					})
			})
		},
	}
	cmd.Flags().StringVar(&owner, "service-account", "", "only the keys of this account (sa-... or u-...)")
	cmd.Flags().StringVar(&resource, "resource", "", "only the keys of this cluster, or cloud")
	return cmd
}

func newAPIKeyDescribeCmd(f *connFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "describe KEY",
		Short: "Describe an API key (never its secret)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := pathOf(apiKeysPath, args[0])
				if err != nil {
					return err
				}
				return describeObject(ctx, s, path, apiKeyFields)
			})
		},
	}
}

func newAPIKeyUpdateCmd(f *connFlags) *cobra.Command {
	var description, name string
	var ifVersion uint64
	cmd := &cobra.Command{
		Use:   "update KEY [--description D] [--display-name N] [--if-version V]",
		Short: "Change an API key's description or name",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var body admin.APIKeyUpdate
			body.Spec.Description = changedString(cmd, "description", description)
			body.Spec.DisplayName = changedString(cmd, "display-name", name)
			if body.Spec.Description == nil && body.Spec.DisplayName == nil {
				return errors.New("nothing to update: pass --description or --display-name")
			}
			return f.run(cmd, func(ctx context.Context, s *session) error {
				path, err := pathOf(apiKeysPath, args[0])
				if err != nil {
					return err
				}
				return sendObject(ctx, s, request{method: http.MethodPatch, path: path, body: body, ifVersion: ifVersion}, apiKeyFields)
			})
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "the new description")
	cmd.Flags().StringVar(&name, "display-name", "", "the new name")
	ifVersionFlag(cmd.Flags(), &ifVersion)
	return cmd
}

func newAPIKeyDeleteCmd(f *connFlags) *cobra.Command {
	var ifVersion uint64
	cmd := &cobra.Command{
		Use:   "delete KEY...",
		Short: "Delete API keys; their connections are closed",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ifVersion != 0 && len(args) > 1 {
				return errors.New("--if-version takes one key")
			}
			return f.run(cmd, func(ctx context.Context, s *session) error {
				var failed []string
				var errs []error
				for _, id := range args {
					path, err := pathOf(apiKeysPath, id)
					if err == nil {
						err = deleteObject(ctx, s, path, ifVersion)
					}
					if err != nil {
						failed = append(failed, id)
						errs = append(errs, err)
						continue
					}
					s.deleted("API key", id)
				}
				if len(errs) == 0 {
					return nil
				}
				if len(args) == 1 {
					return errs[0]
				}
				return fmt.Errorf("%d of %d API keys were not deleted (%s): %w", len(failed), len(args), strings.Join(failed, ", "), errors.Join(errs...))
			})
		},
	}
	ifVersionFlag(cmd.Flags(), &ifVersion)
	return cmd
}
