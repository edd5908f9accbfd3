package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy/assemble"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

func newStateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Back up the state, or move it to another store",
		Long: `Export the state (the accounts, API keys, identity providers and pools, role
bindings and ACLs created through the admin API or the CLI) to a file, and
import such a file into another store. The objects keep their ids,
versions and times, and API keys their secret hashes, so the keys go on
working with the secrets their clients have. Objects of the configuration
file are not part of the state: copy the file itself.

Both commands work offline on the store of the configuration file (today
its api_keys.state_file) or on --state-file, with or without the proxy
running.`,
	}
	cmd.AddCommand(newStateExportCmd(), newStateImportCmd())
	return cmd
}

// stateFlags name the store the state commands work on.
type stateFlags struct {
	configFile, stateFile string
}

func (f *stateFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.configFile, "config", "", "work on the state of this proxy configuration (default $"+defaultConfigEnv+")")
	cmd.Flags().StringVar(&f.stateFile, "state-file", "", "work on this state file")
}

// stateStore is the store the state commands work on.
type stateStore struct {
	store.Store
	// name says which store it is, for messages.
	name string
	// path is the state file.
	path string
	cfg  *config.Config
}

// open opens the store: the state file of --state-file, else that of the
// configuration file. A Kafka backend would be opened here.
func (f *stateFlags) open() (*stateStore, error) {
	configFile, stateFile := f.configFile, f.stateFile
	if configFile == "" && stateFile == "" {
		configFile = os.Getenv(defaultConfigEnv)
	}
	var cfg *config.Config
	if configFile != "" {
		c, err := assemble.Load(configFile)
		if err != nil {
			return nil, err
		}
		cfg = c
		if stateFile == "" {
			stateFile = cfg.APIKeys.StateFile
		}
	}
	if stateFile == "" {
		return nil, errors.New("no state file: pass --state-file, or --config with api_keys.state_file set")
	}
	st, err := store.OpenFile(stateFile)
	if err != nil {
		return nil, err
	}
	return &stateStore{Store: st, name: "the state file " + stateFile, path: stateFile, cfg: cfg}, nil
}

// kindLabels name the kinds in summaries, in the order of store.Kinds.
var kindLabels = map[store.Kind]string{
	store.KindServiceAccount:   "service accounts",
	store.KindUser:             "users",
	store.KindIdentityProvider: "identity providers",
	store.KindIdentityPool:     "identity pools",
	store.KindAPIKey:           "API keys",
	store.KindRoleBinding:      "role bindings",
	store.KindACL:              "ACLs",
}

// kindNoun names one object of a kind.
func kindNoun(k store.Kind) string {
	l := kindLabels[k]
	if k == store.KindACL {
		return "ACL"
	}
	return strings.TrimSuffix(l, "s")
}

func newStateExportCmd() *cobra.Command {
	var flags stateFlags
	var force bool
	cmd := &cobra.Command{
		Use:   "export FILE",
		Short: "Write the state to FILE, secrets still hashed",
		Long: `Write every object of the state to FILE ("-" for the standard output) in the
kafka-auth-proxy-state format, version 1: JSON, one object per line, with
ids, versions and times, the salted hashes of API key secrets (never the
secrets) and the keys' last-use times. The file is written with mode 0600;
it holds no secret, but it describes all access: keep it private.`,
		Example: `  kafka-auth-proxy state export backup.json --config /etc/kafka-auth-proxy/proxy.yaml
  kafka-auth-proxy state export - --state-file /var/lib/kafka-auth-proxy/state.json | gzip > backup.json.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := args[0]
			st, err := flags.open()
			if err != nil {
				return err
			}
			if _, err := os.Stat(st.path); errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s does not exist: there is no state to export", st.name)
			}
			if out != "-" && sameFile(out, st.path) {
				return fmt.Errorf("%s is the state file itself: export to another file", out)
			}
			// The static objects are not set: every stored object is
			// exported, even one the configuration now hides.
			snap := st.Snapshot()
			used, err := st.KeyLastUsed(cmd.Context())
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: the keys' last-use times are not exported: %v\n", err)
			}
			x := store.NewExport(snap, used, time.Now())
			data, err := x.Encode()
			if err != nil {
				return err
			}
			summary := cmd.OutOrStdout()
			if out == "-" {
				if _, err := cmd.OutOrStdout().Write(data); err != nil {
					return err
				}
				summary, out = cmd.ErrOrStderr(), "the standard output"
			} else if err := writeExport(out, data, force); err != nil {
				return err
			}
			fmt.Fprintf(summary, "Exported %s to %s (%s version %d):\n", st.name, out, store.ExportFormat, store.ExportVersion)
			for _, k := range store.Kinds {
				fmt.Fprintf(summary, "  %-20s %d\n", kindLabels[k], len(x.Objects[k]))
			}
			fmt.Fprintf(summary, "  %-20s %d\n", "key last-use times", len(x.KeyLastUsed))
			fmt.Fprintf(summary, "  %-20s %s\n", "digest", x.Digest())
			fmt.Fprintln(summary, "API key secrets are in it as their salted hashes only. It describes all access: keep it private.")
			return nil
		},
	}
	flags.register(cmd)
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")
	return cmd
}

// sameFile reports whether a and b name one file.
func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	if err1 == nil && err2 == nil {
		return os.SameFile(sa, sb)
	}
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == ab
}

// writeExport writes data to path with mode 0600. Without force it
// refuses to replace a file; with it, the file is replaced atomically, so
// that a failure leaves the previous export whole.
func writeExport(path string, data []byte, force bool) (err error) {
	if !force {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists: pass --force to replace it", path)
		}
		if err != nil {
			return err
		}
		if _, err = f.Write(data); err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

func newStateImportCmd() *cobra.Command {
	var flags stateFlags
	var merge, dryRun bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Load an export into the state, keeping ids, versions and secret hashes",
		Long: `Load the objects of an export (of "state export"; "-" reads the standard
input) into the state, with their ids, versions and times, and the keys'
last-use times. API keys keep their secret hashes: their clients log in
with the secrets they have.

The import is one write, all or nothing, decided like any other: every
object is checked as a create would be (unique names, the objects it
refers to, which may be in the configuration file). By default the state
must hold no object of its own yet. With --merge, the objects whose ids
the state lacks are added and those it has are kept as they are; the
summary lists those that differ (conflicts). If any added object is
refused (its name is taken by another object, say), nothing is imported.
--dry-run shows what would happen and changes nothing.`,
		Example: `  kafka-auth-proxy state import backup.json --config /etc/kafka-auth-proxy/proxy.yaml
  kafka-auth-proxy state import backup.json --state-file state.json --merge --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := args[0]
			var data []byte
			var err error
			if in == "-" {
				data, err = io.ReadAll(cmd.InOrStdin())
				in = "the standard input"
			} else {
				data, err = os.ReadFile(in)
			}
			if err != nil {
				return err
			}
			x, err := store.ParseExport(data)
			if err != nil {
				return fmt.Errorf("%s: %w", in, err)
			}
			st, err := flags.open()
			if err != nil {
				return err
			}
			held := 0
			for _, k := range store.Kinds {
				held += st.Snapshot().Len(k) // before the static objects: every stored one
			}
			if held > 0 && !merge {
				return fmt.Errorf("%s holds %d objects already: import into an empty state, or pass --merge to add the objects it lacks (with --dry-run to see which)", st.name, held)
			}
			if st.cfg != nil {
				if err := setStaticOffline(st, st.cfg); err != nil {
					return err
				}
			}
			plan := &store.Merge{Restores: x.Restores()}
			if merge {
				plan = x.Merge(st.Snapshot())
			}
			if dryRun {
				if _, err := st.Snapshot().Apply(plan.Restores, time.Now()); err != nil {
					return fmt.Errorf("the import would be refused: %w", err)
				}
			} else if len(plan.Restores) > 0 {
				if _, err := st.Apply(cmd.Context(), plan.Restores...); err != nil {
					return fmt.Errorf("import refused, nothing was changed: %w", err)
				}
			}
			// The last-use times of the keys restored, and of those the
			// state holds as exported.
			used := map[string]time.Time{}
			for _, c := range plan.Restores {
				if t, ok := x.KeyLastUsed[c.ID]; ok && c.Kind == store.KindAPIKey {
					used[c.ID] = t
				}
			}
			for _, o := range plan.Unchanged {
				if t, ok := x.KeyLastUsed[o.Meta().ID]; ok && o.Kind() == store.KindAPIKey {
					used[o.Meta().ID] = t
				}
			}
			if !dryRun {
				if err := st.RecordKeyUse(cmd.Context(), used); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: the objects are imported, but not the keys' last-use times: %v\n", err)
				}
			}
			printImport(cmd.OutOrStdout(), in, st, x, plan, merge, dryRun)
			return nil
		},
	}
	flags.register(cmd)
	cmd.Flags().BoolVar(&merge, "merge", false, "add the objects whose ids the state lacks, keep the others")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check the import and show what it would do; change nothing")
	return cmd
}

// printImport writes the summary of an import.
func printImport(w io.Writer, in string, st *stateStore, x *store.Export, plan *store.Merge, merge, dryRun bool) {
	verb := "Imported"
	switch {
	case dryRun && merge:
		verb = "Would merge"
	case dryRun:
		verb = "Would import"
	case merge:
		verb = "Merged"
	}
	fmt.Fprintf(w, "%s %s (exported %s) into %s:\n", verb, in, x.ExportedAt.UTC().Format(time.RFC3339), st.name)
	restored := map[store.Kind]int{}
	for _, c := range plan.Restores {
		restored[c.Kind]++
	}
	if !merge {
		for _, k := range store.Kinds {
			fmt.Fprintf(w, "  %-20s %d\n", kindLabels[k], restored[k])
		}
	} else {
		unchanged, conflicts := map[store.Kind]int{}, map[store.Kind]int{}
		for _, o := range plan.Unchanged {
			unchanged[o.Kind()]++
		}
		for _, c := range plan.Conflicts {
			conflicts[c.Exported.Kind()]++
		}
		fmt.Fprintf(w, "  %-20s %8s %9s %9s\n", "", "added", "unchanged", "conflicts")
		for _, k := range store.Kinds {
			fmt.Fprintf(w, "  %-20s %8d %9d %9d\n", kindLabels[k], restored[k], unchanged[k], conflicts[k])
		}
	}
	if !dryRun {
		after := store.NewExport(st.Snapshot(), nil, time.Now())
		fmt.Fprintf(w, "  %-20s %s\n", "digest", after.Digest())
	}
	if len(plan.Conflicts) > 0 {
		fmt.Fprintf(w, "Conflicts: the state's objects are kept, the export's are not imported:\n")
		for _, c := range plan.Conflicts {
			e, cur := c.Exported.Meta(), c.Current.Meta()
			if cur.Source == store.SourceConfig {
				fmt.Fprintf(w, "  %s %s: declared in the configuration file\n", kindNoun(c.Exported.Kind()), e.ID)
				continue
			}
			fmt.Fprintf(w, "  %s %s: the state's is at version %d (updated %s), the export's at version %d (updated %s)\n",
				kindNoun(c.Exported.Kind()), e.ID, cur.Version, cur.UpdatedAt.UTC().Format(time.RFC3339), e.Version, e.UpdatedAt.UTC().Format(time.RFC3339))
		}
	}
	if dryRun {
		fmt.Fprintln(w, "Nothing was changed (--dry-run).")
	}
}
