package store

import (
	"time"
)

// Kind names a type of object. The values are the kind names of Confluent
// Cloud's IAM v2 API (and "KafkaAcl" of Kafka REST v3).
type Kind string

// The kinds of objects the store holds.
const (
	KindServiceAccount   Kind = "ServiceAccount"
	KindUser             Kind = "User"
	KindAPIKey           Kind = "ApiKey"
	KindIdentityProvider Kind = "IdentityProvider"
	KindIdentityPool     Kind = "IdentityPool"
	KindRoleBinding      Kind = "RoleBinding"
	KindACL              Kind = "KafkaAcl"
)

// Kinds lists every kind, in the order snapshots are encoded and objects
// are created when a state is replayed: an object never refers to one of
// a later kind.
var Kinds = []Kind{KindServiceAccount, KindUser, KindIdentityProvider, KindIdentityPool,
	KindAPIKey, KindRoleBinding, KindACL}

// Source says where an object was declared.
type Source string

const (
	// SourceAPI objects were created through the admin API or the CLI,
	// and can be changed the same way.
	SourceAPI Source = "api"
	// SourceConfig objects are declared in the configuration file. They
	// are read-only: change them in the file.
	SourceConfig Source = "config"
)

// Meta is what every object has.
type Meta struct {
	// ID is the object's id: "sa-…", "u-…", the 16-character key id,
	// "op-…", "pool-…", "rb-…", or an ACL's canonical tuple.
	ID string `json:"id"`
	// Version starts at 1 and grows by one with every update. An update
	// or delete may name the version it expects.
	Version   uint64    `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Source is SourceAPI or SourceConfig; the store sets it.
	Source Source `json:"source,omitempty"`
}

// Object is one of the types below.
type Object interface {
	// Kind is the object's kind.
	Kind() Kind
	// Meta is the object's metadata. Callers must not change it through
	// the pointer of an object taken from a snapshot.
	Meta() *Meta
	// copyObject returns a shallow copy, for the store to stamp.
	copyObject() Object
}

// ServiceAccount is an identity for an application (User:sa-…).
type ServiceAccount struct {
	Metadata    Meta   `json:"metadata"`
	DisplayName string `json:"display_name"`
	Description string `json:"description,omitempty"`
}

// User is a person's account (User:u-…).
type User struct {
	Metadata Meta   `json:"metadata"`
	Email    string `json:"email"`
	FullName string `json:"full_name,omitempty"`
}

// ResourceCloud is the resource of a cloud API key, which authenticates to
// the admin API across the organization and never to Kafka.
const ResourceCloud = "cloud"

// APIKey is an API key: the id is the key, the secret is kept as a salted
// hash.
type APIKey struct {
	Metadata   Meta   `json:"metadata"`
	SecretHash string `json:"secret_hash"`
	// Owner is the account the key acts as: "sa-…" or "u-…".
	Owner string `json:"owner"`
	// Resource is the cluster id a cluster key logs Kafka clients in to,
	// or ResourceCloud for a cloud key.
	Resource    string `json:"resource"`
	DisplayName string `json:"display_name,omitempty"`
	Description string `json:"description,omitempty"`
}

// Cloud reports whether k is a cloud key.
func (k *APIKey) Cloud() bool { return k.Resource == ResourceCloud }

// IdentityProvider is an OpenID Connect provider whose tokens are
// accepted.
type IdentityProvider struct {
	Metadata    Meta   `json:"metadata"`
	DisplayName string `json:"display_name"`
	Description string `json:"description,omitempty"`
	// Issuer is the exact iss of the provider's tokens.
	Issuer string `json:"issuer"`
	// JWKSURI is where its keys are published; "" discovers it from the
	// issuer.
	JWKSURI   string   `json:"jwks_uri,omitempty"`
	Audiences []string `json:"audiences,omitempty"`
}

// IdentityPool maps the tokens of one provider that pass its filter to
// the principal User:pool-….
type IdentityPool struct {
	Metadata Meta `json:"metadata"`
	// Provider is the id of the pool's identity provider.
	Provider      string `json:"provider"`
	DisplayName   string `json:"display_name"`
	Description   string `json:"description,omitempty"`
	IdentityClaim string `json:"identity_claim"`
	Filter        string `json:"filter"`
}

// RoleBinding grants a role to a principal on the scope a CRN pattern
// names.
type RoleBinding struct {
	Metadata   Meta   `json:"metadata"`
	Principal  string `json:"principal"`
	RoleName   string `json:"role_name"`
	CRNPattern string `json:"crn_pattern"`
}

// ACL is a Kafka ACL on one cluster. Its tuple is its identity: Meta.ID is
// ACLID of its fields. The names are Kafka's, upper case with underscores
// (TOPIC, PREFIXED, DESCRIBE_CONFIGS, ALLOW).
type ACL struct {
	Metadata     Meta   `json:"metadata"`
	Cluster      string `json:"cluster"`
	ResourceType string `json:"resource_type"`
	ResourceName string `json:"resource_name"`
	PatternType  string `json:"pattern_type"`
	Principal    string `json:"principal"`
	Host         string `json:"host"`
	Operation    string `json:"operation"`
	Permission   string `json:"permission"`
}

// ACLID is the identity of an ACL with these fields.
func ACLID(a *ACL) string {
	return a.Cluster + "|" + a.ResourceType + "|" + a.PatternType + "|" + a.ResourceName + "|" +
		a.Principal + "|" + a.Host + "|" + a.Operation + "|" + a.Permission
}

func (o *ServiceAccount) Kind() Kind   { return KindServiceAccount }
func (o *User) Kind() Kind             { return KindUser }
func (o *APIKey) Kind() Kind           { return KindAPIKey }
func (o *IdentityProvider) Kind() Kind { return KindIdentityProvider }
func (o *IdentityPool) Kind() Kind     { return KindIdentityPool }
func (o *RoleBinding) Kind() Kind      { return KindRoleBinding }
func (o *ACL) Kind() Kind              { return KindACL }

func (o *ServiceAccount) Meta() *Meta   { return &o.Metadata }
func (o *User) Meta() *Meta             { return &o.Metadata }
func (o *APIKey) Meta() *Meta           { return &o.Metadata }
func (o *IdentityProvider) Meta() *Meta { return &o.Metadata }
func (o *IdentityPool) Meta() *Meta     { return &o.Metadata }
func (o *RoleBinding) Meta() *Meta      { return &o.Metadata }
func (o *ACL) Meta() *Meta              { return &o.Metadata }

func (o *ServiceAccount) copyObject() Object { c := *o; return &c }
func (o *User) copyObject() Object           { c := *o; return &c }
func (o *APIKey) copyObject() Object         { c := *o; return &c }
func (o *IdentityProvider) copyObject() Object {
	c := *o
	c.Audiences = append([]string(nil), o.Audiences...)
	return &c
}
func (o *IdentityPool) copyObject() Object { c := *o; return &c }
func (o *RoleBinding) copyObject() Object  { c := *o; return &c }
func (o *ACL) copyObject() Object          { c := *o; return &c }

// newObject returns an empty object of kind k, for decoding.
func newObject(k Kind) Object {
	switch k {
	case KindServiceAccount:
		return &ServiceAccount{}
	case KindUser:
		return &User{}
	case KindAPIKey:
		return &APIKey{}
	case KindIdentityProvider:
		return &IdentityProvider{}
	case KindIdentityPool:
		return &IdentityPool{}
	case KindRoleBinding:
		return &RoleBinding{}
	case KindACL:
		return &ACL{}
	}
	return nil
}

// Principal is the Kafka principal of an account or pool id.
func Principal(id string) string { return "User:" + id }

// StateTopic is the topic a fleet of proxies keeps its shared state in.
// The proxy closes it to every client, super users included: it cannot be
// seen, created, read, written, configured, deleted or given ACLs through
// the proxy, so nobody can read the state, squat the name or corrupt it.
const StateTopic = "_kafka_auth_proxy_state"
