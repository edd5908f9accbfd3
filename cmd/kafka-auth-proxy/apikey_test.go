package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

func mustExecute(t *testing.T, args ...string) string {
	t.Helper()
	out, err := execute(args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// stateKeys reads the API keys of a state file.
func stateKeys(t *testing.T, path string) []*store.APIKey {
	t.Helper()
	f, err := store.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f.Snapshot().APIKeys()
}

// Offline, the commands work on the state file through the admin API in
// process.
func TestAccountAndAPIKeyLifecycle(t *testing.T) {
	isolate(t)
	state := filepath.Join(t.TempDir(), "state.json")
	var acc struct{ ID string }
	if err := json.Unmarshal([]byte(mustExecute(t, "service-account", "create", "payments", "--description", "payments service", "--state-file", state, "-o", "json")), &acc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(acc.ID, "sa-") {
		t.Fatalf("service account id %q", acc.ID)
	}
	var key struct {
		ID   string `json:"id"`
		Spec struct {
			Secret string `json:"secret"`
		} `json:"spec"`
	}
	for range 2 { // two keys: rotation
		out := mustExecute(t, "api-key", "create", "--service-account", acc.ID, "--resource", "cloud", "--description", "producer", "--state-file", state, "-o", "json")
		if err := json.Unmarshal([]byte(out), &key); err != nil {
			t.Fatal(err)
		}
	}
	if !apikey.ValidKeyID(key.ID) || len(key.Spec.Secret) < 43 {
		t.Fatalf("key %q secret length %d", key.ID, len(key.Spec.Secret))
	}
	keys := stateKeys(t, state)
	var stored *store.APIKey
	for _, k := range keys {
		if k.Metadata.ID == key.ID {
			stored = k
		}
	}
	if len(keys) != 2 || stored == nil || stored.Owner != acc.ID || stored.Resource != "cloud" || stored.Description != "producer" {
		t.Fatalf("state file keys %+v", keys)
	}
	raw, _ := os.ReadFile(state)
	if strings.Contains(string(raw), key.Spec.Secret) {
		t.Fatal("the state file holds the secret itself")
	}
	h, err := apikey.ParseHash(stored.SecretHash)
	if err != nil || !h.Verify(key.Spec.Secret) {
		t.Fatalf("stored hash does not verify the printed secret: %v", err)
	}

	list := mustExecute(t, "api-key", "list", "--state-file", state)
	if !strings.Contains(list, key.ID) || !strings.Contains(list, acc.ID) || strings.Contains(list, key.Spec.Secret) {
		t.Fatalf("api-key list:\n%s", list)
	}
	if err := store.MergeLastUsed(state, map[string]time.Time{key.ID: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	if list := mustExecute(t, "api-key", "list", "--state-file", state, "--service-account", acc.ID); !strings.Contains(list, "2026-01-02T03:04:05Z") {
		t.Fatalf("api-key list does not show the last use:\n%s", list)
	}

	mustExecute(t, "api-key", "delete", key.ID, "--state-file", state)
	if keys := stateKeys(t, state); len(keys) != 1 {
		t.Fatalf("%d keys after delete", len(keys))
	}
	if _, err := execute("api-key", "delete", key.ID, "--state-file", state); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("deleting a deleted key: %v", err)
	}
	out := mustExecute(t, "service-account", "delete", acc.ID, "--state-file", state)
	if !strings.Contains(out, "Deleted service account") {
		t.Fatalf("service-account delete: %s", out)
	}
	f, err := store.OpenFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if snap := f.Snapshot(); len(snap.APIKeys()) != 0 || len(snap.ServiceAccounts()) != 0 {
		t.Fatalf("state after deleting the account: %d keys, %d accounts", len(snap.APIKeys()), len(snap.ServiceAccounts()))
	}
}

func TestAPIKeyCreateRefusesUnknownAccounts(t *testing.T) {
	isolate(t)
	state := filepath.Join(t.TempDir(), "state.json")
	_, err := execute("api-key", "create", "--service-account", "sa-nobody", "--resource", "cloud", "--state-file", state)
	if err == nil || !strings.Contains(err.Error(), "sa-nobody") || !strings.Contains(err.Error(), "400") {
		t.Fatalf("got %v", err)
	}
	if _, err := execute("api-key", "list"); err == nil || !strings.Contains(err.Error(), "--state-file") || !strings.Contains(err.Error(), "login") {
		t.Fatalf("with nowhere to send requests: %v", err)
	}
}

func TestAPIKeyHashForTheConfigFile(t *testing.T) {
	secret := strings.Repeat("s3cret", 8)
	out, err := executeWithInput(secret+"\n", "api-key", "hash")
	if err != nil {
		t.Fatal(err)
	}
	h, err := apikey.ParseHash(strings.TrimSpace(out))
	if err != nil || !h.Verify(secret) {
		t.Fatalf("hash %q does not verify the secret: %v", out, err)
	}
	if _, err := executeWithInput("short\n", "api-key", "hash"); err == nil {
		t.Fatal("a short secret was hashed")
	}
}
