// Command kafka-auth-proxy runs the Kafka authentication and authorization
// proxy and checks its configuration.
//
//	kafka-auth-proxy serve --config proxy.yaml
//	kafka-auth-proxy serve --upstream broker1:9092 --listen 127.0.0.1:9092 --no-auth
//	kafka-auth-proxy check-config proxy.yaml
//	kafka-auth-proxy admin bootstrap --config proxy.yaml
//	kafka-auth-proxy login --url https://proxy-admin:8090 --api-key KEY --api-secret SECRET
//	kafka-auth-proxy iam service-account create payments
//	kafka-auth-proxy api-key create --service-account sa-a1b2c3 --resource lkc-prod1
//	kafka-auth-proxy iam rbac role-binding create --principal User:sa-a1b2c3 --role DeveloperRead --resource Topic:orders --kafka-cluster lkc-prod1
//	kafka-auth-proxy state export backup.json --config proxy.yaml
//	kafka-auth-proxy dev
//	kafka-auth-proxy version
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "kafka-auth-proxy:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "kafka-auth-proxy",
		Short:         "A Kafka-protocol proxy that authenticates and authorizes every client request",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newCheckConfigCmd(), newDevCmd(), newVersionCmd(), newAdminCmd(),
		newLoginCmd(), newLogoutCmd(), newIAMCmd(), newKafkaCmd(), newAPIKeyCmd(),
		newServiceAccountCmd("service-account"), newUserCmd("user-account"), newStateCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "kafka-auth-proxy %s\n", version)
		},
	}
}
