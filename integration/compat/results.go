package compat

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Results is what one run of the matrix found; `make compat` renders it as
// docs/compatibility.md.
type Results struct {
	// Finished is when the run ended.
	Finished time.Time `json:"finished"`
	// Target says what the clients ran through: the test's own local set-up
	// or the docker compose stack.
	Target string `json:"target"`
	// Kafka is the broker version behind the proxy.
	Kafka string `json:"kafka"`
	// Proxy is the proxy's version (git describe of the tested tree).
	Proxy string `json:"proxy"`
	// OIDCProvider names the identity provider that issued the tokens.
	OIDCProvider string `json:"oidc_provider"`
	// Rows holds one row per client and mechanism, in the order run.
	Rows []Row `json:"rows"`
}

// Row is one client with one mechanism.
type Row struct {
	Client      string    `json:"client"`
	Description string    `json:"description"`
	Version     string    `json:"version"`
	Mechanism   Mechanism `json:"mechanism"`
	// Login says how the client logged in, e.g. "API key" or "own OIDC
	// support (client credentials)".
	Login string `json:"login"`
	// Results has one entry per step of Steps, in that order.
	Results []Result `json:"results"`
	// Known is the reason a failing step is expected to fail, by step.
	Known map[Step]string `json:"known,omitempty"`
}

// Result returns the row's result for step.
func (r Row) Result(step Step) Result {
	for _, res := range r.Results {
		if res.Step == step {
			return res
		}
	}
	return Result{Step: step, Outcome: Skipped, Detail: "not run"}
}

// WriteResults writes r as indented JSON to path.
func WriteResults(path string, r Results) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write compatibility results: %w", err)
	}
	return nil
}

// ReadResults reads what WriteResults wrote.
func ReadResults(path string) (Results, error) {
	var r Results
	data, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("read compatibility results: %w", err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("read compatibility results %s: %w", path, err)
	}
	if len(r.Rows) == 0 {
		return r, fmt.Errorf("compatibility results %s hold no rows", path)
	}
	return r, nil
}
