package admin

import "time"

// The JSON bodies of the API. They follow Confluent Cloud's IAM v2 API
// (api_version "iam/v2") and, for ACLs, Kafka REST v3, so that tools and
// habits built for those work here.

// APIVersion is the api_version of every IAM object.
const APIVersion = "iam/v2"

// ObjectMeta is the metadata of every object.
type ObjectMeta struct {
	// Self is the object's URL.
	Self string `json:"self"`
	// ResourceName is the object's CRN.
	ResourceName string    `json:"resource_name"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// Version grows by one with every update. Send it back in If-Match
	// (or in a PATCH body's metadata.version) to update only the version
	// you read.
	Version uint64 `json:"version"`
	// Source is "api", or "config" for objects declared in the
	// configuration file, which are read-only.
	Source string `json:"source"`
}

// UpdateMeta is the metadata an update may carry.
type UpdateMeta struct {
	// Version, when set, must be the object's current version.
	Version uint64 `json:"version,omitempty"`
}

// ListMeta is the metadata of a list.
type ListMeta struct {
	First string `json:"first"`
	// Next is the URL of the next page; absent on the last page.
	Next      string `json:"next,omitempty"`
	TotalSize int    `json:"total_size"`
}

// ServiceAccount is an application's identity.
type ServiceAccount struct {
	APIVersion  string     `json:"api_version"`
	Kind        string     `json:"kind"`
	ID          string     `json:"id"`
	Metadata    ObjectMeta `json:"metadata"`
	DisplayName string     `json:"display_name"`
	Description string     `json:"description"`
}

// ServiceAccountCreate is the body of POST /iam/v2/service-accounts.
type ServiceAccountCreate struct {
	DisplayName string `json:"display_name"`
	Description string `json:"description,omitempty"`
}

// ServiceAccountUpdate is the body of PATCH /iam/v2/service-accounts/{id}.
type ServiceAccountUpdate struct {
	Metadata    *UpdateMeta `json:"metadata,omitempty"`
	DisplayName *string     `json:"display_name,omitempty"`
	Description *string     `json:"description,omitempty"`
}

// User is a person's account.
type User struct {
	APIVersion string     `json:"api_version"`
	Kind       string     `json:"kind"`
	ID         string     `json:"id"`
	Metadata   ObjectMeta `json:"metadata"`
	Email      string     `json:"email"`
	FullName   string     `json:"full_name"`
}

// UserCreate is the body of POST /iam/v2/users.
type UserCreate struct {
	Email    string `json:"email"`
	FullName string `json:"full_name,omitempty"`
}

// ObjectRef names another object.
type ObjectRef struct {
	ID string `json:"id"`
	// Kind is ServiceAccount or User for an owner; Cluster or Cloud for
	// a key's resource.
	Kind string `json:"kind"`
}

// APIKeySpec is what an API key is.
type APIKeySpec struct {
	// Secret is returned once, in the answer to the create request.
	Secret      string     `json:"secret,omitempty"`
	DisplayName string     `json:"display_name"`
	Description string     `json:"description"`
	Owner       ObjectRef  `json:"owner"`
	Resource    ObjectRef  `json:"resource"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
}

// APIKey is an API key: a cluster key logs Kafka clients in, a cloud key
// authenticates to this API.
type APIKey struct {
	APIVersion string     `json:"api_version"`
	Kind       string     `json:"kind"`
	ID         string     `json:"id"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       APIKeySpec `json:"spec"`
}

// APIKeyCreate is the body of POST /iam/v2/api-keys.
type APIKeyCreate struct {
	Spec struct {
		DisplayName string `json:"display_name,omitempty"`
		Description string `json:"description,omitempty"`
		Owner       struct {
			ID string `json:"id"`
		} `json:"owner"`
		Resource struct {
			// ID is a cluster id, or "cloud" for a cloud key.
			ID string `json:"id"`
		} `json:"resource"`
	} `json:"spec"`
}

// APIKeyUpdate is the body of PATCH /iam/v2/api-keys/{id}. Spec may be
// left out (omitempty marks it optional in the OpenAPI document).
type APIKeyUpdate struct {
	Metadata *UpdateMeta `json:"metadata,omitempty"`
	Spec     struct {
		DisplayName *string `json:"display_name,omitempty"`
		Description *string `json:"description,omitempty"`
	} `json:"spec,omitempty"`
}

// RoleBinding grants a role on a scope.
type RoleBinding struct {
	APIVersion string     `json:"api_version"`
	Kind       string     `json:"kind"`
	ID         string     `json:"id"`
	Metadata   ObjectMeta `json:"metadata"`
	Principal  string     `json:"principal"`
	RoleName   string     `json:"role_name"`
	CRNPattern string     `json:"crn_pattern"`
}

// RoleBindingCreate is the body of POST /iam/v2/role-bindings.
type RoleBindingCreate struct {
	Principal  string `json:"principal"`
	RoleName   string `json:"role_name"`
	CRNPattern string `json:"crn_pattern"`
}

// Role is a role and what it grants.
type Role struct {
	APIVersion string `json:"api_version"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	// Scope is the level a binding of the role names: organization,
	// environment, cluster or resource.
	Scope       string      `json:"scope"`
	Description string      `json:"description"`
	Grants      []RoleGrant `json:"grants"`
}

// RoleGrant is what a role allows on one resource type.
type RoleGrant struct {
	ResourceType string   `json:"resource_type"`
	Operations   []string `json:"operations"`
}

// IdentityProvider is an OpenID Connect provider.
type IdentityProvider struct {
	APIVersion  string     `json:"api_version"`
	Kind        string     `json:"kind"`
	ID          string     `json:"id"`
	Metadata    ObjectMeta `json:"metadata"`
	DisplayName string     `json:"display_name"`
	Description string     `json:"description"`
	Issuer      string     `json:"issuer"`
	JWKSURI     string     `json:"jwks_uri"`
	Audiences   []string   `json:"audiences"`
	State       string     `json:"state"`
}

// IdentityProviderCreate is the body of POST /iam/v2/identity-providers.
type IdentityProviderCreate struct {
	DisplayName string   `json:"display_name"`
	Description string   `json:"description,omitempty"`
	Issuer      string   `json:"issuer"`
	JWKSURI     string   `json:"jwks_uri,omitempty"`
	Audiences   []string `json:"audiences,omitempty"`
}

// IdentityProviderUpdate is the body of PATCH
// /iam/v2/identity-providers/{id}.
type IdentityProviderUpdate struct {
	Metadata    *UpdateMeta `json:"metadata,omitempty"`
	DisplayName *string     `json:"display_name,omitempty"`
	Description *string     `json:"description,omitempty"`
	Issuer      *string     `json:"issuer,omitempty"`
	JWKSURI     *string     `json:"jwks_uri,omitempty"`
	Audiences   *[]string   `json:"audiences,omitempty"`
}

// IdentityPool maps tokens of a provider to one principal.
type IdentityPool struct {
	APIVersion    string     `json:"api_version"`
	Kind          string     `json:"kind"`
	ID            string     `json:"id"`
	Metadata      ObjectMeta `json:"metadata"`
	DisplayName   string     `json:"display_name"`
	Description   string     `json:"description"`
	IdentityClaim string     `json:"identity_claim"`
	Filter        string     `json:"filter"`
	Principal     string     `json:"principal"`
	State         string     `json:"state"`
}

// IdentityPoolCreate is the body of POST
// /iam/v2/identity-providers/{id}/identity-pools.
type IdentityPoolCreate struct {
	DisplayName   string `json:"display_name"`
	Description   string `json:"description,omitempty"`
	IdentityClaim string `json:"identity_claim,omitempty"`
	Filter        string `json:"filter"`
}

// IdentityPoolUpdate is the body of PATCH
// /iam/v2/identity-providers/{id}/identity-pools/{pool}.
type IdentityPoolUpdate struct {
	Metadata      *UpdateMeta `json:"metadata,omitempty"`
	DisplayName   *string     `json:"display_name,omitempty"`
	Description   *string     `json:"description,omitempty"`
	IdentityClaim *string     `json:"identity_claim,omitempty"`
	Filter        *string     `json:"filter,omitempty"`
}

// ACL is a Kafka ACL, as Kafka REST v3 shows one.
type ACL struct {
	Kind         string  `json:"kind"`
	Metadata     ACLMeta `json:"metadata"`
	ClusterID    string  `json:"cluster_id"`
	ResourceType string  `json:"resource_type"`
	ResourceName string  `json:"resource_name"`
	PatternType  string  `json:"pattern_type"`
	Principal    string  `json:"principal"`
	Host         string  `json:"host"`
	Operation    string  `json:"operation"`
	Permission   string  `json:"permission"`
	Source       string  `json:"source"`
}

// ACLMeta is an ACL's metadata.
type ACLMeta struct {
	Self string `json:"self"`
}

// ACLCreate is the body of POST /kafka/v3/clusters/{cluster_id}/acls.
type ACLCreate struct {
	ResourceType string `json:"resource_type"`
	// ResourceName may be left out for the CLUSTER resource.
	ResourceName string `json:"resource_name,omitempty"`
	// PatternType is LITERAL (default) or PREFIXED.
	PatternType string `json:"pattern_type,omitempty"`
	Principal   string `json:"principal"`
	// Host is * (default) or an IP address.
	Host      string `json:"host,omitempty"`
	Operation string `json:"operation"`
	// Permission is ALLOW (default) or DENY.
	Permission string `json:"permission,omitempty"`
}

// ACLList is a list of ACLs.
type ACLList struct {
	Kind     string  `json:"kind"`
	Metadata ACLMeta `json:"metadata"`
	Data     []ACL   `json:"data"`
}

// Organization is the deployment's organization.
type Organization struct {
	APIVersion  string     `json:"api_version"`
	Kind        string     `json:"kind"`
	ID          string     `json:"id"`
	Metadata    ObjectMeta `json:"metadata"`
	DisplayName string     `json:"display_name"`
}

// Environment is a group of clusters.
type Environment struct {
	APIVersion  string     `json:"api_version"`
	Kind        string     `json:"kind"`
	ID          string     `json:"id"`
	Metadata    ObjectMeta `json:"metadata"`
	DisplayName string     `json:"display_name"`
}

// Cluster is a Kafka cluster the proxy serves.
type Cluster struct {
	APIVersion string      `json:"api_version"`
	Kind       string      `json:"kind"`
	ID         string      `json:"id"`
	Metadata   ObjectMeta  `json:"metadata"`
	Spec       ClusterSpec `json:"spec"`
}

// ClusterSpec is where a cluster belongs.
type ClusterSpec struct {
	DisplayName string    `json:"display_name"`
	Environment ObjectRef `json:"environment"`
}

// ErrorBody is the body of every error answer.
type ErrorBody struct {
	Errors []ErrorItem `json:"errors"`
}

// ErrorItem is one problem.
type ErrorItem struct {
	// Status is the HTTP status code, as a string.
	Status string `json:"status"`
	Detail string `json:"detail"`
	// Source points at the field at fault, as a JSON pointer, when there
	// is one.
	Source *ErrorSource `json:"source,omitempty"`
}

// ErrorSource locates a problem in the request.
type ErrorSource struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
}

// List is a page of objects of one kind.
type List[T any] struct {
	APIVersion string   `json:"api_version"`
	Kind       string   `json:"kind"`
	Metadata   ListMeta `json:"metadata"`
	Data       []T      `json:"data"`
}
