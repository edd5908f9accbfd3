package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// accountKind is one of the two kinds of account API keys belong to.
type accountKind struct {
	command string // "service-account"
	noun    string // "service account"
	prefix  string // "sa"
}

var (
	serviceAccounts = accountKind{"service-account", "service account", "sa"}
	userAccounts    = accountKind{"user-account", "user account", "u"}
)

func newAccountCmd(k accountKind) *cobra.Command {
	var f stateFlags
	cmd := &cobra.Command{
		Use:   k.command,
		Short: fmt.Sprintf("Manage %ss (%s-...), the owners of API keys", k.noun, k.prefix),
	}
	f.register(cmd)
	cmd.AddCommand(newAccountCreateCmd(k, &f), newAccountListCmd(k, &f), newAccountDeleteCmd(k, &f))
	return cmd
}

func newAccountCreateCmd(k accountKind, f *stateFlags) *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:     "create NAME",
		Short:   fmt.Sprintf("Create a %s and print its id", k.noun),
		Example: fmt.Sprintf(`  kafka-auth-proxy %s create payments --description "payments service"`, k.command),
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, path, err := f.open()
			if err != nil {
				return err
			}
			id, err := store.NewAccountID(k.prefix)
			if err != nil {
				return err
			}
			desc := args[0]
			if description != "" {
				desc += ": " + description
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			err = store.Update(ctx, path, func(st *store.State) error {
				st.Accounts = append(st.Accounts, store.Account{ID: id, Description: desc, Created: time.Now().UTC()})
				return nil
			})
			if err != nil {
				return err
			}
			if f.output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"id": id, "name": args[0], "description": description})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created %s %s (principal User:%s).\n", k.noun, id, id)
			return nil
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the account is for")
	return cmd
}

func newAccountListCmd(k accountKind, f *stateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: fmt.Sprintf("List %ss", k.noun),
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
			type row struct {
				ID          string `json:"id"`
				Description string `json:"description,omitempty"`
				Keys        int    `json:"api_keys"`
				Source      string `json:"source"`
			}
			keys := map[string]int{}
			for _, key := range st.Keys {
				keys[key.Account]++
			}
			rows := []row{}
			if cfg != nil {
				for _, key := range cfg.APIKeys.Keys {
					keys[key.Account]++
				}
				for _, a := range cfg.APIKeys.Accounts {
					rows = append(rows, row{ID: a.ID, Description: a.Description, Source: "config"})
				}
			}
			for _, a := range st.Accounts {
				rows = append(rows, row{ID: a.ID, Description: a.Description, Source: "state"})
			}
			rows = slices.DeleteFunc(rows, func(r row) bool { return !strings.HasPrefix(r.ID, k.prefix+"-") })
			for i := range rows {
				rows[i].Keys = keys[rows[i].ID]
			}
			slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.ID, b.ID) })
			if f.output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tAPI KEYS\tSOURCE\tDESCRIPTION")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.ID, r.Keys, r.Source, r.Description)
			}
			return tw.Flush()
		},
	}
}

func newAccountDeleteCmd(k accountKind, f *stateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: fmt.Sprintf("Delete a %s and its API keys; their open connections are closed within seconds", k.noun),
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if !strings.HasPrefix(id, k.prefix+"-") {
				return fmt.Errorf("%q is not a %s id (%s-...)", id, k.noun, k.prefix)
			}
			cfg, path, err := f.open()
			if err != nil {
				return err
			}
			if cfg != nil && slices.ContainsFunc(cfg.APIKeys.Accounts, func(a config.Account) bool { return a.ID == id }) {
				return fmt.Errorf("%s is declared in %s: remove it there (the proxy reloads the file)", id, f.configFile)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			removed := 0
			err = store.Update(ctx, path, func(st *store.State) error {
				i := slices.IndexFunc(st.Accounts, func(a store.Account) bool { return a.ID == id })
				if i < 0 {
					return fmt.Errorf("%s %s does not exist", k.noun, id)
				}
				st.Accounts = slices.Delete(st.Accounts, i, i+1)
				n := len(st.Keys)
				st.Keys = slices.DeleteFunc(st.Keys, func(key store.Key) bool { return key.Account == id })
				removed = n - len(st.Keys)
				return nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted %s %q and its %d API key(s).\n", k.noun, id, removed)
			return nil
		},
	}
}
