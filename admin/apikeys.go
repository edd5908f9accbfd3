package admin

import (
	"net/http"
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// API keys. A cluster key (resource a cluster id) logs Kafka clients in
// over SASL/PLAIN; a cloud key (resource "cloud") authenticates to this
// API. The secret is generated here, returned once and stored as a salted
// hash.

func (q *request) apiKey(o *store.APIKey, used map[string]time.Time) APIKey {
	path := "/iam/v2/api-keys/" + escape(o.Metadata.ID)
	crn := store.OrganizationCRN(q.scope.org) + "/api-key=" + o.Metadata.ID
	ownerKind := "ServiceAccount"
	if k, _ := q.snap.Account(o.Owner); k == store.KindUser {
		ownerKind = "User"
	}
	res := ObjectRef{ID: o.Resource, Kind: "Cluster"}
	if o.Cloud() {
		res.Kind = "Cloud"
	}
	out := APIKey{APIVersion: APIVersion, Kind: "ApiKey", ID: o.Metadata.ID, Metadata: q.meta(&o.Metadata, path, crn),
		Spec: APIKeySpec{DisplayName: o.DisplayName, Description: o.Description, Owner: ObjectRef{ID: o.Owner, Kind: ownerKind}, Resource: res}}
	if t, ok := used[o.Metadata.ID]; ok {
		out.Spec.LastUsedAt = &t
	}
	return out
}

// mayManageKey applies the key rules to o.
func (q *request) mayManageKey(owner, resource string) error {
	return q.caller.mayManageKey(owner, resource, q.scope.clusterScope())
}

func (s *Server) listAPIKeys(q *request) (any, error) {
	owner, resource := q.query("spec.owner"), q.query("spec.resource")
	if owner != "" && resource != "" {
		if err := q.mayManageKey(owner, resource); err != nil {
			return nil, err
		}
	} else if owner != "" && !q.caller.ownKey(owner) && !q.caller.orgAdmin() && !q.caller.adminOf(q.scope.clusterScope()) {
		return nil, deny("listing the API keys of %s needs OrganizationAdmin, or EnvironmentAdmin or CloudClusterAdmin on cluster %s", owner, q.scope.cluster)
	}
	used, err := q.s.o.Store.KeyLastUsed(q.r.Context())
	if err != nil {
		s.log.Warn("API key last-use times unreadable")
		used = nil
	}
	var ids []string
	var objs []*store.APIKey
	for _, k := range q.snap.APIKeys() {
		if (owner != "" && k.Owner != owner) || (resource != "" && k.Resource != resource) {
			continue
		}
		if q.mayManageKey(k.Owner, k.Resource) != nil {
			continue
		}
		ids = append(ids, k.Metadata.ID)
		objs = append(objs, k)
	}
	return pageFunc(q, "ApiKeyList", ids, func(i int) APIKey { return q.apiKey(objs[i], used) })
}

// visibleKey returns the key of the path, or 404 when it does not exist
// or the caller may not manage it.
func (q *request) visibleKey() (*store.APIKey, error) {
	id := q.pathParam("id")
	q.event.Object = id
	k, ok := q.snap.APIKey(id)
	if !ok || q.mayManageKey(k.Owner, k.Resource) != nil {
		return nil, errorf(http.StatusNotFound, "API key %s does not exist", id)
	}
	return k, nil
}

func (s *Server) getAPIKey(q *request) (any, error) {
	k, err := q.visibleKey()
	if err != nil {
		return nil, err
	}
	used, _ := q.s.o.Store.KeyLastUsed(q.r.Context())
	q.etag(&k.Metadata)
	return q.apiKey(k, used), nil
}

func (s *Server) createAPIKey(q *request) (any, error) {
	var in APIKeyCreate
	if err := q.decode(&in); err != nil {
		return nil, err
	}
	owner, resource := in.Spec.Owner.ID, in.Spec.Resource.ID
	var p problems
	checkName(&p, "/spec/display_name", in.Spec.DisplayName, false)
	checkText(&p, "/spec/description", in.Spec.Description)
	if _, ok := q.snap.Account(owner); !ok {
		p.add("/spec/owner/id", "spec.owner.id %q is not a service account or user", owner)
	}
	switch {
	case resource == store.ResourceCloud:
	case resource == "":
		p.add("/spec/resource/id", "spec.resource.id is required: a cluster id (%s) or cloud", q.scope.cluster)
	case resource != q.scope.cluster:
		p.add("/spec/resource/id", "spec.resource.id %q is not a cluster of this proxy (%s) nor cloud", resource, q.scope.cluster)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if err := q.mayManageKey(owner, resource); err != nil {
		return nil, err
	}
	var id string
	for range 10 {
		var err error
		if id, err = apikey.NewKeyID(); err != nil {
			return nil, err
		}
		if _, taken := q.snap.APIKey(id); !taken {
			break
		}
	}
	secret, err := apikey.NewSecret()
	if err != nil {
		return nil, err
	}
	hash, err := apikey.HashSecret(secret)
	if err != nil {
		return nil, err
	}
	q.event.Object = id
	q.event.Changed = map[string]any{"owner": owner, "resource": resource, "display_name": in.Spec.DisplayName, "description": in.Spec.Description}
	snap, err := q.apply(store.Create(&store.APIKey{Metadata: store.Meta{ID: id}, SecretHash: hash, Owner: owner, Resource: resource,
		DisplayName: in.Spec.DisplayName, Description: in.Spec.Description}))
	if err != nil {
		return nil, err
	}
	k, _ := snap.APIKey(id)
	out := q.apiKey(k, nil)
	out.Spec.Secret = secret
	q.etag(&k.Metadata)
	q.header.Set("Location", q.self("/iam/v2/api-keys/"+id))
	q.header.Set("Cache-Control", "no-store")
	return out, nil
}

func (s *Server) updateAPIKey(q *request) (any, error) {
	k, err := q.visibleKey()
	if err != nil {
		return nil, err
	}
	var in APIKeyUpdate
	if err := q.decode(&in); err != nil {
		return nil, err
	}
	v, err := q.ifVersion(in.Metadata)
	if err != nil {
		return nil, err
	}
	var p problems
	next := *k
	changed := map[string]any{}
	if in.Spec.DisplayName != nil {
		checkName(&p, "/spec/display_name", *in.Spec.DisplayName, false)
		next.DisplayName = *in.Spec.DisplayName
		changed["display_name"] = next.DisplayName
	}
	if in.Spec.Description != nil {
		checkText(&p, "/spec/description", *in.Spec.Description)
		next.Description = *in.Spec.Description
		changed["description"] = next.Description
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	n, err := q.replace(&next, v, changed)
	if err != nil {
		return nil, err
	}
	used, _ := q.s.o.Store.KeyLastUsed(q.r.Context())
	return q.apiKey(n.(*store.APIKey), used), nil
}

func (s *Server) deleteAPIKey(q *request) (any, error) {
	k, err := q.visibleKey()
	if err != nil {
		return nil, err
	}
	return nil, q.remove(store.KindAPIKey, k.Metadata.ID)
}
