package deploy

import (
	"bytes"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy/assemble"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
)

// The stack's files, relative to the repository root.
const (
	composeFile       = "docker-compose.yml"
	dockerfile        = "Dockerfile"
	proxyConfigFile   = "deploy/proxy/config.yaml"
	realmFile         = "deploy/keycloak/realm.json"
	prometheusFile    = "deploy/prometheus/prometheus.yml"
	dashboardFile     = "deploy/grafana/dashboards/kafka-auth-proxy.json"
	datasourcesDir    = "deploy/grafana/provisioning/datasources"
	dashboardProvDir  = "deploy/grafana/provisioning/dashboards"
	clientConfigsDir  = "deploy/clients"
	proxyService      = "kafka-auth-proxy"
	kafkaService      = "kafka"
	keycloakService   = "keycloak"
	prometheusService = "prometheus"
	grafanaService    = "grafana"
)

// repoFile returns the path of a file named relative to the repository
// root; tests run in deploy/.
func repoFile(name string) string { return filepath.Join("..", filepath.FromSlash(name)) }

func readRepoFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(repoFile(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeYAMLStrict decodes a YAML file into v, refusing keys v does not
// declare, so that the structs below describe the files completely.
func decodeYAMLStrict(t *testing.T, name string, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readRepoFile(t, name)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// compose is the part of the Compose file format the stack uses.
type compose struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Hostname    string            `yaml:"hostname"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   yaml.Node         `yaml:"depends_on"`
	Healthcheck map[string]any    `yaml:"healthcheck"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// mount is one entry of a service's volumes in short syntax.
type mount struct {
	Source   string // ./host/path, or a named volume
	Target   string // path in the container
	ReadOnly bool
}

// Bind reports whether the mount is a host path (not a named volume).
func (m mount) Bind() bool {
	return strings.HasPrefix(m.Source, "./") || strings.HasPrefix(m.Source, "../")
}

func (s composeService) mounts(t *testing.T) []mount {
	t.Helper()
	var ms []mount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 {
			t.Fatalf("volume %q is not source:target[:mode]", v)
		}
		m := mount{Source: parts[0], Target: parts[1]}
		if len(parts) == 3 {
			m.ReadOnly = parts[2] == "ro"
		}
		ms = append(ms, m)
	}
	return ms
}

// hostFile maps a path in the container to the host file that a bind mount
// puts there, as a path relative to the repository root such as
// deploy/proxy/config.yaml ("" if no bind mount covers it).
func (s composeService) hostFile(t *testing.T, containerPath string) string {
	t.Helper()
	for _, m := range s.mounts(t) {
		if !m.Bind() {
			continue
		}
		if rel, ok := strings.CutPrefix(containerPath, m.Target); ok && (rel == "" || strings.HasPrefix(rel, "/")) {
			return path.Clean(path.Join(m.Source, rel))
		}
	}
	return ""
}

// published is one published port in short syntax: host_ip:host:container.
type published struct {
	HostIP              string
	Host, ContainerPort int
}

func (s composeService) published(t *testing.T) []published {
	t.Helper()
	var ps []published
	for _, p := range s.Ports {
		parts := strings.Split(p, ":")
		if len(parts) != 3 {
			t.Fatalf("port %q: want host_ip:host_port:container_port", p)
		}
		host, err1 := strconv.Atoi(parts[1])
		ctr, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil {
			t.Fatalf("port %q: want single ports, not ranges", p)
		}
		ps = append(ps, published{HostIP: parts[0], Host: host, ContainerPort: ctr})
	}
	return ps
}

// publishes reports whether the service publishes container port ctr on
// the same host port.
func (s composeService) publishes(t *testing.T, ctr int) bool {
	t.Helper()
	for _, p := range s.published(t) {
		if p.ContainerPort == ctr && p.Host == ctr {
			return true
		}
	}
	return false
}

func loadCompose(t *testing.T) *compose {
	t.Helper()
	var c compose
	decodeYAMLStrict(t, composeFile, &c)
	return &c
}

func (c *compose) service(t *testing.T, name string) composeService {
	t.Helper()
	s, ok := c.Services[name]
	if !ok {
		t.Fatalf("%s has no service %q", composeFile, name)
	}
	return s
}

// loadProxyConfig loads the stack's proxy configuration with the proxy's
// own loader. No environment variable is visible, so the file cannot
// depend on one.
func loadProxyConfig(t *testing.T) *config.Config {
	t.Helper()
	noEnv := func(string) (string, bool) { return "", false }
	cfg, err := config.ParseWithEnv(readRepoFile(t, proxyConfigFile), proxyConfigFile, noEnv)
	if err != nil {
		t.Fatalf("the stack's proxy configuration does not load:\n%v", err)
	}
	if problems := assemble.Check(cfg); len(problems) > 0 {
		t.Fatalf("the stack's proxy configuration does not check:\n%v", config.NewProblemsError(proxyConfigFile, problems))
	}
	return cfg
}

// port returns the port of host:port.
func port(t *testing.T, hostPort string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostPort)
	if err != nil {
		t.Fatalf("%q: %v", hostPort, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%q: %v", hostPort, err)
	}
	return n
}

// urlHostPort returns the host and port of an http URL (port 80 when the
// URL names none).
func urlHostPort(t *testing.T, raw string) (string, int) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p := 80
	if u.Port() != "" {
		p, _ = strconv.Atoi(u.Port())
	}
	return u.Hostname(), p
}
