package main

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"gopkg.in/yaml.v3"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
)

const (
	// benchAccount owns the API key of the proxy+auth path.
	benchAccount = "sa-bench"
	// benchGroupPrefix is the consumer group prefix the bench principal may
	// read. The consumer uses no group, like on the other paths, so that
	// the phases stay alike; the binding makes the policy the one a
	// grouped consumer would need.
	benchGroupPrefix = "bench-"
)

// authSetup is what the proxy+auth path's configuration is made of: the
// API key the bench logs in with and the topics it may use.
type authSetup struct {
	clusterID string   // the upstream cluster's id: the key's scope
	keyID     string   // SASL/PLAIN username
	secret    string   // SASL/PLAIN password
	topics    []string // every topic the proxy+auth path produces to and consumes
}

// newAuthSetup makes a fresh API key for cluster, allowed on topics.
func newAuthSetup(clusterID string, topics []string) (*authSetup, error) {
	if clusterID == "" {
		return nil, fmt.Errorf("the broker reported no cluster id")
	}
	id, err := apikey.NewKeyID()
	if err != nil {
		return nil, err
	}
	secret, err := apikey.NewSecret()
	if err != nil {
		return nil, err
	}
	return &authSetup{clusterID: clusterID, keyID: id, secret: secret, topics: topics}, nil
}

// clientOpt logs a franz-go client in with the API key over SASL/PLAIN.
func (a *authSetup) clientOpt() kgo.Opt {
	return kgo.SASL(plain.Auth{User: a.keyID, Pass: a.secret}.AsMechanism())
}

// plainToken is the SASL/PLAIN message that logs in with the API key (RFC
// 4616): no authorization identity, then the key id and the secret, each
// after a NUL.
func (a *authSetup) plainToken() []byte {
	return []byte("\x00" + a.keyID + "\x00" + a.secret)
}

// The configuration file of the proxy+auth path, in the YAML keys of
// config.Config (see config/example.yaml). Only what the bench sets is
// written; everything else keeps its default.
type (
	authFile struct {
		Listener      authFileListener `yaml:"listener"`
		Upstream      authFileUpstream `yaml:"upstream"`
		Auth          string           `yaml:"auth"`
		APIKeys       authFileAPIKeys  `yaml:"api_keys"`
		Authorization authFileAuthz    `yaml:"authorization"`
		Metrics       authFileMetrics  `yaml:"metrics"`
		Log           authFileLog      `yaml:"log"`
	}
	authFileListener struct {
		Address        string `yaml:"address"`
		BrokerPortBase int    `yaml:"broker_port_base"`
	}
	authFileUpstream struct {
		Bootstrap []string `yaml:"bootstrap"`
	}
	authFileAPIKeys struct {
		Accounts []authFileAccount `yaml:"accounts"`
		Keys     []authFileKey     `yaml:"keys"`
	}
	authFileAccount struct {
		ID string `yaml:"id"`
	}
	authFileKey struct {
		ID         string `yaml:"id"`
		SecretHash string `yaml:"secret_hash"`
		Account    string `yaml:"account"`
		Cluster    string `yaml:"cluster"`
	}
	authFileAuthz struct {
		RoleBindings []authFileRoleBinding `yaml:"role_bindings"`
	}
	authFileRoleBinding struct {
		Principal    string `yaml:"principal"`
		Role         string `yaml:"role"`
		ResourceType string `yaml:"resource_type"`
		Name         string `yaml:"name"`
		Pattern      string `yaml:"pattern"`
	}
	authFileMetrics struct {
		Address string `yaml:"address"`
	}
	authFileLog struct {
		Level string `yaml:"level"`
	}
)

// proxyAddrs are the addresses a proxy process serves.
type proxyAddrs struct {
	bootstrap      string
	brokerPortBase int
	metrics        string
}

// configFile returns the YAML configuration of a proxy with authentication
// (auth: sasl, the bench's API key declared in the file) and authorization
// (role bindings: DeveloperWrite and DeveloperRead on each topic, literal,
// and DeveloperRead on the groups of benchGroupPrefix) in front of upstream.
func (a *authSetup) configFile(addrs proxyAddrs, upstream []string, logLevel string) ([]byte, error) {
	hash, err := apikey.HashSecret(a.secret)
	if err != nil {
		return nil, err
	}
	principal := "User:" + benchAccount
	f := authFile{
		Listener: authFileListener{Address: addrs.bootstrap, BrokerPortBase: addrs.brokerPortBase},
		Upstream: authFileUpstream{Bootstrap: upstream},
		Auth:     "sasl",
		APIKeys: authFileAPIKeys{
			Accounts: []authFileAccount{{ID: benchAccount}},
			Keys: []authFileKey{{
				ID: a.keyID,
				// The proxy expands ${VAR} and $$ in values; $$ is a "$".
				SecretHash: strings.ReplaceAll(hash, "$", "$$"),
				Account:    benchAccount,
				Cluster:    a.clusterID,
			}},
		},
		Metrics: authFileMetrics{Address: addrs.metrics},
		Log:     authFileLog{Level: logLevel},
	}
	bind := func(role, resourceType, name, pattern string) {
		f.Authorization.RoleBindings = append(f.Authorization.RoleBindings, authFileRoleBinding{
			Principal: principal, Role: role, ResourceType: resourceType, Name: name, Pattern: pattern,
		})
	}
	for _, t := range a.topics {
		bind("DeveloperWrite", "topic", t, "literal")
		bind("DeveloperRead", "topic", t, "literal")
	}
	bind("DeveloperRead", "group", benchGroupPrefix, "prefixed")
	return yaml.Marshal(&f)
}
