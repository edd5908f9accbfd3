package harness

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These tests need no Java; the real-cluster tests are in harness_test.go
// behind the integration build tag.

func TestStartRejectsBrokerCount(t *testing.T) {
	for _, n := range []int{-1, 2, 4} {
		if _, err := Start(context.Background(), Options{Brokers: n}); err == nil {
			t.Errorf("Brokers=%d: no error", n)
		}
	}
}

func TestEscapeProperty(t *testing.T) {
	cases := map[string]string{
		"plain":                       "plain",
		"a b":                         "a b",
		" lead":                       `\ lead`,
		"line1\nline2\n":              `line1\nline2\n`,
		`C:\dir`:                      `C:\\dir`,
		`user_x="p=w";`:               `user_x="p=w";`,
		"-----BEGIN X-----\nAB\n\tCD": `-----BEGIN X-----\nAB\n\tCD`,
	}
	for in, want := range cases {
		if got := escapeProperty(in); got != want {
			t.Errorf("escapeProperty(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFreePortsDistinct(t *testing.T) {
	ports, err := FreePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[int]bool)
	for _, p := range ports {
		if seen[p] || p <= 0 {
			t.Fatalf("bad or repeated port %d in %v", p, ports)
		}
		seen[p] = true
	}
	more, err := FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range more {
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "module github.com/kafka-auth-proxy/kafka-auth-proxy") {
		t.Fatalf("%s/go.mod is not this module's", root)
	}
}

func TestWritePKI(t *testing.T) {
	dir := t.TempDir()
	p, err := writePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA certificate in ca file")
	}

	server := parseCert(t, []byte(p.serverCertPEM))
	for _, host := range []string{"127.0.0.1", "localhost", "::1"} {
		if _, err := server.Verify(x509.VerifyOptions{
			DNSName:   host,
			Roots:     roots,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
	if blk, _ := pem.Decode([]byte(p.serverKeyPEM)); blk == nil || blk.Type != "PRIVATE KEY" {
		t.Errorf("server key is not a PKCS#8 PEM block")
	}

	clientPEM, err := os.ReadFile(p.clientCertFile)
	if err != nil {
		t.Fatal(err)
	}
	client := parseCert(t, clientPEM)
	if _, err := client.Verify(x509.VerifyOptions{
		Roots:     roots,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if client.Subject.CommonName != "harness-client" {
		t.Errorf("client CN = %q", client.Subject.CommonName)
	}
	c := &Cluster{CAFile: p.caFile, ClientCertFile: p.clientCertFile, ClientKeyFile: p.clientKeyFile}
	if _, err := c.ClientTLSConfig(); err != nil {
		t.Errorf("ClientTLSConfig: %v", err)
	}
	if _, err := (&Cluster{}).ClientTLSConfig(); err == nil {
		t.Error("ClientTLSConfig without TLS: no error")
	}
}

func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(data)
	if blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatal("no CERTIFICATE PEM block")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
