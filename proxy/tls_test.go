package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and returns the
// cert and key file paths and a pool that trusts it.
func writeCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kafka-auth-proxy test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLSListenerServesBootstrapAndBrokerPorts(t *testing.T) {
	certFile, keyFile, pool := writeCert(t)
	fake, err := kfake.NewCluster(kfake.NumBrokers(2), kfake.SeedTopics(2, "secure"))
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	tests := []struct {
		name      string
		clientCA  bool
		clientTLS func() *tls.Config
		wantErr   bool
	}{
		{"TLS", false, func() *tls.Config { return &tls.Config{RootCAs: pool} }, false},
		{"mTLS with a client certificate", true, func() *tls.Config {
			cert, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				t.Fatal(err)
			}
			return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}
		}, false},
		{"mTLS without a client certificate", true, func() *tls.Config { return &tls.Config{RootCAs: pool} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, fake.ListenAddrs(), func(s *testSetup) {
				s.proxy.Listeners[0].TLS = &ServerTLS{CertFile: certFile, KeyFile: keyFile}
				if tt.clientCA {
					s.proxy.Listeners[0].TLS.ClientCAFile = certFile
				}
			}, fake)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			cl := p.client(t, kgo.DialTLSConfig(tt.clientTLS()), kgo.DefaultProduceTopic("secure"),
				kgo.RequestRetries(0), kgo.RecordRetries(1))
			// Produce goes to the partition leaders on broker ports.
			err := cl.ProduceSync(ctx, kgo.StringRecord("a"), kgo.StringRecord("b"), kgo.StringRecord("c")).FirstErr()
			if tt.wantErr {
				if err == nil {
					t.Fatal("a client without a certificate was served")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
