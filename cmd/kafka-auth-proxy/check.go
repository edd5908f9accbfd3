package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy/assemble"
)

func newCheckConfigCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check-config FILE",
		Short: "Report every problem in a configuration file, with its key path and line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			problems := assemble.CheckFile(args[0])
			for _, p := range problems {
				fmt.Fprintln(cmd.OutOrStdout(), p.Describe(args[0]))
			}
			if len(problems) > 0 {
				return fmt.Errorf("%s: %d problem(s)", args[0], len(problems))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", args[0])
			return nil
		},
	}
}
