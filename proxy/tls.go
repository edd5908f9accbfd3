package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// ServerTLSConfig is the TLS configuration of a listener of t; a client CA
// makes it mTLS. The admin API uses it too, so that both serve TLS the
// same way.
func ServerTLSConfig(t *ServerTLS) (*tls.Config, error) {
	return serverTLSConfig(t)
}

// serverTLSConfig is the client-facing TLS configuration; a client CA makes
// it mTLS.
func serverTLSConfig(t *ServerTLS) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("listener.tls: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if t.ClientCAFile != "" {
		if tc.ClientCAs, err = loadCertPool(t.ClientCAFile); err != nil {
			return nil, fmt.Errorf("listener.tls.client_ca_file: %w", err)
		}
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// upstreamTLSConfig is how the proxy verifies, and authenticates to, the
// upstream brokers.
func upstreamTLSConfig(t *UpstreamTLS) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // operator's explicit choice, documented as unsafe
	}
	if t.CAFile != "" {
		var err error
		if tc.RootCAs, err = loadCertPool(t.CAFile); err != nil {
			return nil, fmt.Errorf("upstream.tls.ca_file: %w", err)
		}
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("upstream.tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// loadCertPool reads a PEM bundle of CA certificates.
func loadCertPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificates found", path)
	}
	return pool, nil
}
