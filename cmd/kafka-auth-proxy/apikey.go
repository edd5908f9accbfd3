package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
)

// The other api-key commands are in remote_apikey.go.

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
