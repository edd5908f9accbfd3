// Package store owns the local state file: the accounts and API keys that
// the CLI creates and the running proxy watches, and the last-use times the
// proxy records next to it.
//
// Writers serialize on an advisory lock and replace the file atomically, so
// readers never see a partial file and need no lock.
package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Version is the state file format this package reads and writes.
const Version = 1

// Account is an account that API keys belong to.
type Account struct {
	// ID is "sa-…" for a service account, "u-…" for a user account.
	ID          string    `json:"id"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
}

// Key is an API key. Only the hash of its secret is kept.
type Key struct {
	ID          string    `json:"id"`
	SecretHash  string    `json:"secret_hash"`
	Account     string    `json:"account"`
	Cluster     string    `json:"cluster"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
}

// ACL is a Kafka ACL created through the proxy's CreateAcls API. Names
// are as Kafka prints them: "Topic", "Prefixed", "Read", "Allow".
type ACL struct {
	Principal    string    `json:"principal"`
	Host         string    `json:"host"`
	ResourceType string    `json:"resource_type"`
	Name         string    `json:"name"`
	Pattern      string    `json:"pattern"`
	Operation    string    `json:"operation"`
	Permission   string    `json:"permission"`
	Created      time.Time `json:"created"`
}

// State is the content of the state file.
type State struct {
	Version  int       `json:"version"`
	Accounts []Account `json:"accounts"`
	Keys     []Key     `json:"keys"`
	ACLs     []ACL     `json:"acls,omitempty"`
}

// Load reads the state file at path. A missing file is an empty State, not
// an error. An existing file must hold a State, so that a file caught
// mid-write by an editor (empty or cut short) is an error rather than the
// revocation of every key.
func Load(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: Version}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	st, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return st, nil
}

func parse(data []byte) (*State, error) {
	st := &State{Version: Version}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("file is empty; write {} for an empty state, or remove the file")
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, jsonError(data, err)
	}
	switch {
	case st.Version == 0: // written by hand without one
		st.Version = Version
	case st.Version < 0:
		return nil, fmt.Errorf("format version %d is invalid", st.Version)
	case st.Version > Version:
		return nil, fmt.Errorf("format version %d is newer than this program understands (%d); upgrade kafka-auth-proxy", st.Version, Version)
	}
	return st, nil
}

// encode is the file content for st: indented for people reading it, with
// empty lists rather than null.
func encode(st *State) ([]byte, error) {
	out := *st
	out.Version = Version
	if out.Accounts == nil {
		out.Accounts = []Account{}
	}
	if out.Keys == nil {
		out.Keys = []Key{}
	}
	data, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
