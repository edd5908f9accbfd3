package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeTestPKI writes a CA, and a certificate signed by it with its key, to
// a temporary directory and returns the file names.
func writeTestPKI(t *testing.T) (certFile, keyFile, caFile string) {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = writePEM(t, dir, "ca.crt", "CERTIFICATE", caDER)
	certFile = writePEM(t, dir, "server.crt", "CERTIFICATE", der)
	keyFile = writeKey(t, dir, "server.key", key)
	return certFile, keyFile, caFile
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeKey(t *testing.T, dir, name string, k *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name, "PRIVATE KEY", der)
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	return writeFile(t, dir, name, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTLSFiles(t *testing.T) {
	cert, key, ca := writeTestPKI(t)
	dir := t.TempDir()
	otherKey := writeKey(t, dir, "other.key", newKey(t))
	garbage := writeFile(t, dir, "garbage.pem", []byte("not a certificate\n"))
	missing := filepath.Join(dir, "missing.pem")

	// listenerTLS and upstreamTLS return a config whose tls key is on line 5
	// (listener) or line 4 (upstream); body starts on the next line.
	listenerTLS := func(body string) string {
		return "auth: none\nupstream:\n  bootstrap: [127.0.0.1:19092]\nlistener:\n  tls:\n" + body
	}
	upstreamTLS := func(body string) string {
		return "auth: none\nupstream:\n  bootstrap: [127.0.0.1:19092]\n  tls:\n" + body
	}
	tests := []struct {
		name string
		yaml string
		want []Problem
	}{
		{
			name: "listener: valid certificate, key and client CA",
			yaml: listenerTLS("    cert_file: " + cert + "\n    key_file: " + key + "\n    client_ca_file: " + ca + "\n"),
		},
		{
			name: "listener: certificate and key are required (reported on the tls line)",
			yaml: listenerTLS("    client_ca_file: " + ca + "\n"),
			want: []Problem{
				{Path: "listener.tls.cert_file", Line: 5, Message: "required when listener.tls is set"},
				{Path: "listener.tls.key_file", Line: 5, Message: "required when listener.tls is set"},
			},
		},
		{
			name: "listener: files must exist",
			yaml: listenerTLS("    cert_file: " + missing + "\n    key_file: " + missing + "\n    client_ca_file: " + missing + "\n"),
			want: []Problem{
				{Path: "listener.tls.cert_file", Line: 6, Message: `cannot read "` + missing + `": no such file or directory`},
				{Path: "listener.tls.key_file", Line: 7, Message: `cannot read "` + missing + `": no such file or directory`},
				{Path: "listener.tls.client_ca_file", Line: 8, Message: `cannot read "` + missing + `": no such file or directory`},
			},
		},
		{
			name: "listener: a directory is not a readable file",
			yaml: listenerTLS("    cert_file: " + dir + "\n    key_file: " + key + "\n"),
			want: []Problem{{Path: "listener.tls.cert_file", Line: 6, Message: `cannot read "` + dir + `": is a directory`}},
		},
		{
			name: "listener: certificate file without a certificate",
			yaml: listenerTLS("    cert_file: " + garbage + "\n    key_file: " + key + "\n"),
			want: []Problem{{Path: "listener.tls.cert_file", Line: 6, Message: `"` + garbage + `": no PEM CERTIFICATE block found`}},
		},
		{
			name: "listener: key that does not match the certificate",
			yaml: listenerTLS("    cert_file: " + cert + "\n    key_file: " + otherKey + "\n"),
			want: []Problem{{Path: "listener.tls.key_file", Line: 7, Message: `"` + otherKey + `" does not go with certificate "` + cert + `": private key does not match public key`}},
		},
		{
			name: "listener: key file that holds no key",
			yaml: listenerTLS("    cert_file: " + cert + "\n    key_file: " + garbage + "\n"),
			want: []Problem{{Path: "listener.tls.key_file", Line: 7, Message: `"` + garbage + `" does not go with certificate "` + cert + `": failed to find any PEM data in key input`}},
		},
		{
			name: "listener: client CA file without a certificate",
			yaml: listenerTLS("    cert_file: " + cert + "\n    key_file: " + key + "\n    client_ca_file: " + garbage + "\n"),
			want: []Problem{{Path: "listener.tls.client_ca_file", Line: 8, Message: `"` + garbage + `": no PEM CERTIFICATE block found`}},
		},
		{
			name: "upstream: CA only (server verification, no client certificate)",
			yaml: upstreamTLS("    ca_file: " + ca + "\n"),
		},
		{
			name: "upstream: mTLS",
			yaml: upstreamTLS("    ca_file: " + ca + "\n    cert_file: " + cert + "\n    key_file: " + key + "\n"),
		},
		{
			name: "upstream: empty section means TLS with the system roots",
			yaml: upstreamTLS("    {}\n"),
		},
		{
			name: "upstream: certificate without key",
			yaml: upstreamTLS("    cert_file: " + cert + "\n"),
			want: []Problem{{Path: "upstream.tls.key_file", Line: 4, Message: "required when upstream.tls.cert_file is set (a client certificate needs its key)"}},
		},
		{
			name: "upstream: key without certificate",
			yaml: upstreamTLS("    key_file: " + key + "\n"),
			want: []Problem{{Path: "upstream.tls.cert_file", Line: 4, Message: "required when upstream.tls.key_file is set (a client key needs its certificate)"}},
		},
		{
			name: "upstream: unreadable CA and mismatched pair",
			yaml: upstreamTLS("    ca_file: " + missing + "\n    cert_file: " + cert + "\n    key_file: " + otherKey + "\n"),
			want: []Problem{
				{Path: "upstream.tls.ca_file", Line: 5, Message: `cannot read "` + missing + `": no such file or directory`},
				{Path: "upstream.tls.key_file", Line: 7, Message: `"` + otherKey + `" does not go with certificate "` + cert + `": private key does not match public key`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertProblems(t, tt.yaml, envMap(), tt.want)
		})
	}
}
