package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/admin"
)

// loginContext is what `login` stores: where the admin API is and how to
// authenticate to it. The file holds a secret: it is created 0600 in a
// 0700 directory.
type loginContext struct {
	URL          string `json:"url"`
	APIKey       string `json:"api_key,omitempty"`
	APISecret    string `json:"api_secret,omitempty"`
	Token        string `json:"token,omitempty"`
	CAFile       string `json:"ca_file,omitempty"`
	Organization string `json:"organization,omitempty"`
}

// loginContextFile is the file of the login context:
// $XDG_CONFIG_HOME/kafka-auth-proxy/config.json, by default under
// ~/.config.
func loginContextFile() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	// The XDG specification ignores relative paths.
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("login context: %w (set $XDG_CONFIG_HOME)", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "kafka-auth-proxy", "config.json"), nil
}

// loadLoginContext reads the stored login context; nil when there is
// none.
func loadLoginContext() (*loginContext, error) {
	path, err := loginContextFile()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("login context: %w", err)
	}
	var lc loginContext
	if err := json.Unmarshal(data, &lc); err != nil {
		return nil, fmt.Errorf("login context %s: %w (log in again, or remove it with `kafka-auth-proxy logout`)", path, err)
	}
	return &lc, nil
}

// saveLoginContext replaces the stored login context. The file is
// written to a new 0600 file beside it and renamed over it, so that it is
// never readable by others, even for a moment.
func saveLoginContext(lc *loginContext) (string, error) {
	path, err := loginContextFile()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("login context: %w", err)
	}
	// The directory may exist from before, with a wider mode.
	if fi, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("login context: %w", err)
	} else if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return "", fmt.Errorf("login context: %w", err)
		}
	}
	data, err := json.MarshalIndent(lc, "", "  ")
	if err != nil {
		return "", fmt.Errorf("login context: %w", err)
	}
	f, err := os.CreateTemp(dir, ".config-*.json") // mode 0600
	if err != nil {
		return "", fmt.Errorf("login context: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("login context %s: %w", path, err)
	}
	return path, nil
}

func newLoginCmd() *cobra.Command {
	var f connFlags
	cmd := &cobra.Command{
		Use:   "login --url URL (--api-key KEY --api-secret SECRET | --token TOKEN)",
		Short: "Check credentials for the admin API and store them for the next commands",
		Long: `Check credentials for the admin API (a cloud API key, or an OIDC bearer
token) and store them, with the URL, in $XDG_CONFIG_HOME/kafka-auth-proxy/config.json
(default ~/.config/kafka-auth-proxy/config.json, mode 0600). The management
commands then use them when no --url or $` + urlEnv + ` is given.`,
		Example: `  kafka-auth-proxy login --url https://proxy-admin:8090 --api-key KEY --api-secret SECRET
  KAFKA_AUTH_PROXY_API_SECRET=... kafka-auth-proxy login --url https://proxy-admin:8090 --api-key KEY`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := newPrinter(cmd.OutOrStdout(), f.output)
			if err != nil {
				return err
			}
			env := envLayer(os.Getenv)
			env.configFile = "" // login is for an admin API, never offline
			t, err := resolveTarget(f.flagLayer(), env, nil)
			if err != nil {
				return err
			}
			if t.URL == "" {
				return errors.New("login needs the admin API's URL: pass --url")
			}
			if t.Creds.empty() {
				return errors.New("login needs credentials: pass --api-key and --api-secret (a cloud API key), or --token")
			}
			if t.CAFile != "" {
				if t.CAFile, err = filepath.Abs(t.CAFile); err != nil {
					return fmt.Errorf("--ca-file: %w", err)
				}
			}
			warnPlainHTTP(cmd, t)
			c, err := openClient(cmd.Context(), t)
			if err != nil {
				return err
			}
			defer c.Close()
			org, err := organization(cmd.Context(), c)
			if err != nil {
				return fmt.Errorf("login to %s: %w", t.URL, err)
			}
			lc := &loginContext{URL: c.base, APIKey: t.Creds.APIKey, APISecret: t.Creds.APISecret, Token: t.Creds.Token,
				CAFile: t.CAFile, Organization: org}
			path, err := saveLoginContext(lc)
			if err != nil {
				return err
			}
			if !p.human() {
				raw, err := marshalRaw(map[string]string{"url": lc.URL, "organization": org, "context_file": path})
				if err != nil {
					return err
				}
				return p.raw(raw)
			}
			p.line("Logged in to %s as %s.", lc.URL, org)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.url, "url", "", "the admin API, e.g. https://proxy-admin:8090 (default $"+urlEnv+")")
	fs.StringVar(&f.apiKey, "api-key", "", "a cloud API key (default $"+apiKeyEnv+")")
	fs.StringVar(&f.apiSecret, "api-secret", "", "the API key's secret (default $"+apiSecretEnv+")")
	fs.StringVar(&f.token, "token", "", "an OIDC bearer token (default $"+tokenEnv+")")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of the CA that signed the admin API's certificate")
	fs.StringVarP(&f.output, "output", "o", "human", "output format: human, json or yaml")
	return cmd
}

func newLogoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Remove the stored login context",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := loginContextFile()
			if err != nil {
				return err
			}
			lc, err := loadLoginContext()
			if err != nil {
				// A damaged file is removed all the same.
				lc = &loginContext{}
			}
			if err := os.Remove(path); errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintln(cmd.OutOrStdout(), "Not logged in.")
				return nil
			} else if err != nil {
				return fmt.Errorf("logout: %w", err)
			}
			if lc == nil || lc.URL == "" {
				fmt.Fprintln(cmd.OutOrStdout(), "Logged out.")
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged out of %s.\n", lc.URL)
			return nil
		},
	}
}

// organization is the id of the organization the API serves.
func organization(ctx context.Context, c *apiClient) (string, error) {
	var orgs admin.List[admin.Organization]
	if _, err := c.get(ctx, "/org/v2/organizations", nil, &orgs); err != nil {
		return "", err
	}
	if len(orgs.Data) == 0 || orgs.Data[0].ID == "" {
		return "", fmt.Errorf("GET /org/v2/organizations at %s: no organization", c.name)
	}
	return orgs.Data[0].ID, nil
}
