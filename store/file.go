package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Version is the format version of the state file this program writes.
// Version 1 files (accounts, keys and ACLs) are read and rewritten as
// version 2 on the first change.
const Version = 2

// fileState is the state file: the API objects of every kind.
type fileState struct {
	Version           int                 `json:"version"`
	ServiceAccounts   []*ServiceAccount   `json:"service_accounts"`
	Users             []*User             `json:"users"`
	IdentityProviders []*IdentityProvider `json:"identity_providers"`
	IdentityPools     []*IdentityPool     `json:"identity_pools"`
	APIKeys           []*APIKey           `json:"api_keys"`
	RoleBindings      []*RoleBinding      `json:"role_bindings"`
	ACLs              []*ACL              `json:"acls"`
}

// File is a Store kept in one JSON file. Every Apply takes the file's
// lock, reads the file again if another process changed it, applies the
// commands and replaces the file atomically, so that several processes
// (the CLI working offline, proxies sharing a volume) can share it. Watch
// picks up the changes the others make.
type File struct {
	path string
	c    *core
	last fingerprint // of the file content c.cur was read from or written as
	// enc caches the encoding of the objects last written, under c.mu.
	enc map[Object][]byte
}

// fileLockTimeout bounds the wait for the state file's lock.
const fileLockTimeout = 30 * time.Second

// OpenFile opens the state file at path, which need not exist yet.
func OpenFile(path string) (*File, error) {
	f := &File{path: path, c: newCore()}
	if err := f.reload(true); err != nil {
		return nil, err
	}
	return f, nil
}

// Path is the state file's path.
func (f *File) Path() string { return f.path }

func (f *File) Snapshot() *Snapshot { return f.c.snapshot() }

// reload reads the file when it changed since it was last read or
// written (or always, when force is set) and publishes its state.
func (f *File) reload(force bool) error {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	return f.reloadLocked(force)
}

func (f *File) reloadLocked(force bool) error {
	fp := fingerprintOf(f.path)
	if !force && fp == f.last {
		return nil
	}
	objs, err := readStateFile(f.path)
	if err != nil {
		return err
	}
	f.last = fp
	f.c.publishLocked(fromObjects(objs, f.c.static, f.c.cur.Load().seq+1))
	return nil
}

func (f *File) Apply(ctx context.Context, cmds ...Command) (*Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return nil, fmt.Errorf("state file %s: %w", f.path, err)
	}
	lctx, cancel := context.WithTimeout(ctx, fileLockTimeout)
	defer cancel()
	unlock, err := lock(lctx, f.path+".lock")
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w: %w", f.path, ErrUnavailable, err)
	}
	defer unlock()
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	if err := f.reloadLocked(false); err != nil {
		return nil, err
	}
	next, err := f.c.cur.Load().Apply(cmds, f.c.now())
	if err != nil {
		return nil, err
	}
	data, enc, err := encodeState(dynamic(next), f.enc)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", f.path, err)
	}
	if err := writeFile(f.path, data); err != nil {
		return nil, fmt.Errorf("state file %s: %w: %w", f.path, ErrUnavailable, err)
	}
	f.last, f.enc = fingerprintOf(f.path), enc
	f.c.publishLocked(next)
	return next, nil
}

func (f *File) SetStatic(objs []Object) {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	f.c.static = objs
	f.c.publishLocked(withStatic(f.c.cur.Load(), objs))
}

func (f *File) Subscribe(fn func(*Snapshot)) func() { return f.c.subscribe(fn) }

// Watch checks the file every interval (DefaultWatchInterval when 0) for
// changes other processes made, until ctx ends. A file that does not read
// is reported to onError once per distinct error, and the state in force
// is kept.
func (f *File) Watch(ctx context.Context, interval time.Duration, onError func(error)) {
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	lastErr := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := f.reload(lastErr != "")
		switch {
		case err == nil:
			lastErr = ""
		case err.Error() != lastErr:
			lastErr = err.Error()
			if onError != nil {
				onError(err)
			}
		}
	}
}

func (f *File) RecordKeyUse(_ context.Context, used map[string]time.Time) error {
	return MergeLastUsed(f.path, used)
}

func (f *File) KeyLastUsed(context.Context) (map[string]time.Time, error) {
	return LoadLastUsed(f.path)
}

// readStateFile reads the API objects of the state file at path; a
// missing file is an empty state.
func readStateFile(path string) (map[Kind][]Object, error) {
	data, err := readOptional(path)
	if err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	if data == nil {
		return map[Kind][]Object{}, nil
	}
	objs, err := parseState(data)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return objs, nil
}

func parseState(data []byte) (map[Kind][]Object, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("file is empty; write {} for an empty state, or remove the file")
	}
	var head struct {
		Version int    `json:"version"`
		Format  string `json:"format"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, jsonError(data, err)
	}
	switch {
	case head.Format != "":
		// An export's version is its own: never read it as a state's.
		return nil, fmt.Errorf("this is an export (format %q), not a state file: load it with `kafka-auth-proxy state import`", head.Format)
	case head.Version < 0:
		return nil, fmt.Errorf("format version %d is invalid", head.Version)
	case head.Version > Version:
		return nil, fmt.Errorf("format version %d is newer than this program understands (%d); upgrade kafka-auth-proxy", head.Version, Version)
	case head.Version == 1:
		return parseV1(data)
	}
	var st fileState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, jsonError(data, err)
	}
	out := map[Kind][]Object{}
	var errs []error
	add := func(k Kind, i int, o Object) {
		if o == nil {
			errs = append(errs, fmt.Errorf("%s #%d is null", kindNoun(k), i+1))
			return
		}
		m := o.Meta()
		if a, ok := o.(*ACL); ok {
			m.ID = ACLID(a)
		}
		if m.ID == "" {
			errs = append(errs, fmt.Errorf("%s without an id", kindNoun(k)))
			return
		}
		if m.Version == 0 {
			m.Version = 1
		}
		out[k] = append(out[k], o)
	}
	addAll(KindServiceAccount, st.ServiceAccounts, add)
	addAll(KindUser, st.Users, add)
	addAll(KindIdentityProvider, st.IdentityProviders, add)
	addAll(KindIdentityPool, st.IdentityPools, add)
	addAll(KindAPIKey, st.APIKeys, add)
	addAll(KindRoleBinding, st.RoleBindings, add)
	addAll(KindACL, st.ACLs, add)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// fileKeys are the keys of the state file's lists, by kind, in the order
// they are written.
var fileKeys = []struct {
	kind Kind
	key  string
}{
	{KindServiceAccount, "service_accounts"},
	{KindUser, "users"},
	{KindIdentityProvider, "identity_providers"},
	{KindIdentityPool, "identity_pools"},
	{KindAPIKey, "api_keys"},
	{KindRoleBinding, "role_bindings"},
	{KindACL, "acls"},
}

// encodeState writes the state file: one object per line, so that the
// file reads and diffs well. cache holds the encoding of objects written
// before (objects are immutable, so an object's encoding never changes);
// the returned cache holds those of this state, so that a write encodes
// only the objects that changed.
func encodeState(objs map[Kind][]Object, cache map[Object][]byte) ([]byte, map[Object][]byte, error) {
	next := make(map[Object][]byte, len(cache)+1)
	var b bytes.Buffer
	b.WriteString("{\n  \"version\": " + strconv.Itoa(Version))
	for _, fk := range fileKeys {
		b.WriteString(",\n  \"" + fk.key + "\": [")
		for i, o := range objs[fk.kind] {
			enc, ok := cache[o]
			if !ok {
				var err error
				if enc, err = json.Marshal(o); err != nil {
					return nil, nil, err
				}
			}
			next[o] = enc
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("\n    ")
			b.Write(enc)
		}
		if len(objs[fk.kind]) > 0 {
			b.WriteString("\n  ")
		}
		b.WriteByte(']')
	}
	b.WriteString("\n}\n")
	return b.Bytes(), next, nil
}

// v1State is the format of version 1 state files.
type v1State struct {
	Accounts []struct {
		ID          string    `json:"id"`
		Description string    `json:"description"`
		Created     time.Time `json:"created"`
	} `json:"accounts"`
	Keys []struct {
		ID          string    `json:"id"`
		SecretHash  string    `json:"secret_hash"`
		Account     string    `json:"account"`
		Cluster     string    `json:"cluster"`
		Description string    `json:"description"`
		Created     time.Time `json:"created"`
	} `json:"keys"`
	ACLs []struct {
		Principal    string    `json:"principal"`
		Host         string    `json:"host"`
		ResourceType string    `json:"resource_type"`
		Name         string    `json:"name"`
		Pattern      string    `json:"pattern"`
		Operation    string    `json:"operation"`
		Permission   string    `json:"permission"`
		Created      time.Time `json:"created"`
	} `json:"acls"`
}

// parseV1 reads a version 1 state file. Its accounts were "NAME" or
// "NAME: description"; sa- accounts become service accounts and u-
// accounts users (without an email, which v1 did not have). Its ACLs
// applied to the proxy's cluster, whichever it is: they get no cluster.
func parseV1(data []byte) (map[Kind][]Object, error) {
	var v1 v1State
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, jsonError(data, err)
	}
	out := map[Kind][]Object{}
	meta := func(id string, created time.Time) Meta {
		return Meta{ID: id, Version: 1, CreatedAt: created, UpdatedAt: created, Source: SourceAPI}
	}
	for _, a := range v1.Accounts {
		name, desc, _ := strings.Cut(a.Description, ": ")
		if strings.HasPrefix(a.ID, UserAccountPrefix+"-") {
			out[KindUser] = append(out[KindUser], &User{Metadata: meta(a.ID, a.Created), Email: a.ID, FullName: a.Description})
			continue
		}
		out[KindServiceAccount] = append(out[KindServiceAccount], &ServiceAccount{Metadata: meta(a.ID, a.Created),
			DisplayName: nonEmpty(name, a.ID), Description: desc})
	}
	for _, k := range v1.Keys {
		out[KindAPIKey] = append(out[KindAPIKey], &APIKey{Metadata: meta(k.ID, k.Created), SecretHash: k.SecretHash,
			Owner: k.Account, Resource: k.Cluster, Description: k.Description})
	}
	for _, a := range v1.ACLs {
		x := &ACL{ResourceType: KafkaName(a.ResourceType), ResourceName: a.Name, PatternType: KafkaName(a.Pattern),
			Principal: a.Principal, Host: a.Host, Operation: KafkaName(a.Operation), Permission: KafkaName(a.Permission)}
		x.Metadata = meta(ACLID(x), a.Created)
		out[KindACL] = append(out[KindACL], x)
	}
	return out, nil
}

func nonEmpty(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// KafkaName writes a name the way Kafka's enums are written, in upper case
// with underscores: "TransactionalId" and "transactional_id" are
// "TRANSACTIONAL_ID".
func KafkaName(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' && i > 0 && s[i-1] != '_' && !(s[i-1] >= 'A' && s[i-1] <= 'Z') {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}
