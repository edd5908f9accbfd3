package audit

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	t0       = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	t0UTC    = "2025-03-01T11:00:00.123456789Z"
	uuidV4RE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

// decodeLines parses each line of out as one JSON object.
func decodeLines(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	if len(out) > 0 && out[len(out)-1] != '\n' {
		t.Fatalf("output does not end in a newline: %q", out)
	}
	var events []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", line, err)
		}
		events = append(events, ev)
	}
	return events
}

func TestAuthenticationEvent(t *testing.T) {
	for _, tc := range []struct {
		name        string
		event       AuthenticationEvent
		wantSubject string // "" for no subject attribute
		wantData    map[string]any
	}{
		{
			name: "API key login",
			event: AuthenticationEvent{Time: t0, Principal: "User:sa-abc123", Mechanism: "PLAIN",
				APIKey: "ABCDEFGHIJ012345", Source: "10.0.0.1:50000", Listener: "external", Success: true},
			wantSubject: "User:sa-abc123",
			wantData: map[string]any{"principal": "User:sa-abc123", "mechanism": "PLAIN", "api_key": "ABCDEFGHIJ012345",
				"source_address": "10.0.0.1:50000", "listener": "external", "result": "success", "reauthentication": false},
		},
		{
			name: "failed API key login",
			event: AuthenticationEvent{Time: t0, Mechanism: "PLAIN", APIKey: "ABCDEFGHIJ012345",
				Source: "10.0.0.1:50000", Reason: "bad_secret"},
			wantSubject: "ABCDEFGHIJ012345",
			wantData: map[string]any{"mechanism": "PLAIN", "api_key": "ABCDEFGHIJ012345",
				"source_address": "10.0.0.1:50000", "result": "failure", "reason": "bad_secret", "reauthentication": false},
		},
		{
			name: "token re-authentication",
			event: AuthenticationEvent{Time: t0, Principal: "User:pool-xyz", Mechanism: "OAUTHBEARER",
				IdentityPool: "pool-xyz", Identity: "svc<billing>&co", Provider: "okta", Source: "[::1]:9000",
				Success: true, Reauthentication: true},
			wantSubject: "User:pool-xyz",
			wantData: map[string]any{"principal": "User:pool-xyz", "mechanism": "OAUTHBEARER", "identity_pool": "pool-xyz",
				"identity": "svc<billing>&co", "provider": "okta", "source_address": "[::1]:9000",
				"result": "success", "reauthentication": true},
		},
		{
			name: "failed token login, pool unknown",
			event: AuthenticationEvent{Time: t0, Mechanism: "OAUTHBEARER", Provider: "okta",
				Source: "10.0.0.2:1", Reason: "invalid_token"},
			wantData: map[string]any{"mechanism": "OAUTHBEARER", "provider": "okta", "source_address": "10.0.0.2:1",
				"result": "failure", "reason": "invalid_token", "reauthentication": false},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := New(&out, WithSource("//kafka-auth-proxy/test"))
			s.Authentication(tc.event)
			events := decodeLines(t, out.Bytes())
			if len(events) != 1 {
				t.Fatalf("%d lines, want 1", len(events))
			}
			ev := events[0]
			if id, _ := ev["id"].(string); !uuidV4RE.MatchString(id) {
				t.Errorf("id = %q, want a version 4 UUID", id)
			}
			want := map[string]any{
				"specversion":     "1.0",
				"id":              ev["id"],
				"source":          "//kafka-auth-proxy/test",
				"type":            "io.kafka-auth-proxy/authentication",
				"time":            t0UTC,
				"datacontenttype": "application/json",
				"data":            tc.wantData,
			}
			if tc.wantSubject != "" {
				want["subject"] = tc.wantSubject
			}
			if !reflect.DeepEqual(ev, want) {
				t.Errorf("event\n got %v\nwant %v", ev, want)
			}
		})
	}
}

// TestRequiredAttributes: the attributes CloudEvents 1.0 requires are
// present and non-empty, whatever the event holds.
func TestRequiredAttributes(t *testing.T) {
	var out bytes.Buffer
	New(&out).Authentication(AuthenticationEvent{})
	ev := decodeLines(t, out.Bytes())[0]
	for _, attr := range []string{"specversion", "id", "source", "type"} {
		if v, _ := ev[attr].(string); v == "" {
			t.Errorf("required attribute %q is %v", attr, ev[attr])
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, ev["time"].(string)); err != nil {
		t.Errorf("time of an event without one: %v", err)
	}
	if _, ok := ev["subject"]; ok {
		t.Errorf("subject %v present without principal, key or pool", ev["subject"])
	}
	if got := slices.Sorted(maps.Keys(ev["data"].(map[string]any))); !reflect.DeepEqual(got, []string{"mechanism", "reauthentication", "result"}) {
		t.Errorf("data fields of an empty event = %v, want only the always-present ones", got)
	}
}

func TestDefaultSource(t *testing.T) {
	src := defaultSource()
	if !regexp.MustCompile(`^//kafka-auth-proxy/[^/]+$`).MatchString(src) && src != "kafka-auth-proxy" {
		t.Errorf("defaultSource() = %q, want //kafka-auth-proxy/<hostname>", src)
	}
}

func TestNewIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newID()
		if !uuidV4RE.MatchString(id) || seen[id] {
			t.Fatalf("newID() = %q: not a fresh version 4 UUID", id)
		}
		seen[id] = true
	}
}
