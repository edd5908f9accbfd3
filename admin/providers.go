package admin

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/pool"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// Identity providers and their identity pools. Only an OrganizationAdmin
// changes them; managers may read them, to bind roles to pools.

func (q *request) provider(o *store.IdentityProvider) IdentityProvider {
	path := "/iam/v2/identity-providers/" + escape(o.Metadata.ID)
	crn := store.OrganizationCRN(q.scope.org) + "/identity-provider=" + o.Metadata.ID
	return IdentityProvider{APIVersion: APIVersion, Kind: "IdentityProvider", ID: o.Metadata.ID, Metadata: q.meta(&o.Metadata, path, crn),
		DisplayName: o.DisplayName, Description: o.Description, Issuer: o.Issuer, JWKSURI: o.JWKSURI,
		Audiences: append([]string{}, o.Audiences...), State: "ENABLED"}
}

func (q *request) pool(o *store.IdentityPool) IdentityPool {
	path := "/iam/v2/identity-providers/" + escape(o.Provider) + "/identity-pools/" + escape(o.Metadata.ID)
	crn := store.OrganizationCRN(q.scope.org) + "/identity-provider=" + o.Provider + "/identity-pool=" + o.Metadata.ID
	return IdentityPool{APIVersion: APIVersion, Kind: "IdentityPool", ID: o.Metadata.ID, Metadata: q.meta(&o.Metadata, path, crn),
		DisplayName: o.DisplayName, Description: o.Description, IdentityClaim: o.IdentityClaim, Filter: o.Filter,
		Principal: store.Principal(o.Metadata.ID), State: "ENABLED"}
}

func (q *request) mayReadProviders() error {
	if q.caller.manager() {
		return nil
	}
	return deny("identity providers and pools are visible to OrganizationAdmin, EnvironmentAdmin, CloudClusterAdmin and ResourceOwner")
}

func (q *request) mayChangeProviders() error {
	if q.caller.orgAdmin() {
		return nil
	}
	return deny("identity providers and pools are managed by OrganizationAdmin")
}

func (s *Server) listProviders(q *request) (any, error) {
	if err := q.mayReadProviders(); err != nil {
		return nil, err
	}
	var ids []string
	var out []IdentityProvider
	for _, o := range q.snap.Providers() {
		ids = append(ids, o.Metadata.ID)
		out = append(out, q.provider(o))
	}
	return pageOf(q, "IdentityProviderList", ids, out)
}

func (q *request) visibleProvider() (*store.IdentityProvider, error) {
	if err := q.mayReadProviders(); err != nil {
		return nil, err
	}
	id := q.pathParam("id")
	q.event.Object = id
	o, ok := q.snap.Provider(id)
	if !ok {
		return nil, errorf(http.StatusNotFound, "identity provider %s does not exist", id)
	}
	return o, nil
}

func (s *Server) getProvider(q *request) (any, error) {
	o, err := q.visibleProvider()
	if err != nil {
		return nil, err
	}
	q.etag(&o.Metadata)
	return q.provider(o), nil
}

// checkProvider reports the problems of a provider's fields.
func (s *Server) checkProvider(p *problems, o *store.IdentityProvider) {
	urls := s.urls
	if s.o.ProviderURLs != nil {
		urls = s.o.ProviderURLs()
	}
	checkName(p, "/display_name", o.DisplayName, true)
	checkText(p, "/description", o.Description)
	if o.Issuer == "" {
		p.add("/issuer", "issuer is required")
	} else if err := urls.Check(o.Issuer); err != nil {
		p.add("/issuer", "issuer: %v", err)
	}
	if o.JWKSURI != "" {
		if err := urls.Check(o.JWKSURI); err != nil {
			p.add("/jwks_uri", "jwks_uri: %v", err)
		}
	}
	if len(o.Audiences) > 16 {
		p.add("/audiences", "at most 16 audiences")
	}
	for i, a := range o.Audiences {
		if a == "" || len(a) > 256 || strings.ContainsFunc(a, isControl) {
			p.add("/audiences/"+strconv.Itoa(i), "audiences must be non-empty strings of at most 256 bytes")
		}
	}
}

func (s *Server) createProvider(q *request) (any, error) {
	if err := q.mayChangeProviders(); err != nil {
		return nil, err
	}
	var in IdentityProviderCreate
	if err := q.decode(&in); err != nil {
		return nil, err
	}
	o := &store.IdentityProvider{DisplayName: in.DisplayName, Description: in.Description, Issuer: in.Issuer,
		JWKSURI: in.JWKSURI, Audiences: in.Audiences}
	var p problems
	s.checkProvider(&p, o)
	if err := p.err(); err != nil {
		return nil, err
	}
	id, err := newID(q.snap, store.KindIdentityProvider, store.ProviderPrefix)
	if err != nil {
		return nil, err
	}
	o.Metadata.ID = id
	q.event.Object = id
	q.event.Changed = map[string]any{"display_name": o.DisplayName, "issuer": o.Issuer, "jwks_uri": o.JWKSURI, "audiences": o.Audiences}
	snap, err := q.apply(store.Create(o))
	if err != nil {
		return nil, err
	}
	n, _ := snap.Provider(id)
	q.etag(&n.Metadata)
	q.header.Set("Location", q.self("/iam/v2/identity-providers/"+id))
	return q.provider(n), nil
}

func (s *Server) updateProvider(q *request) (any, error) {
	o, err := q.visibleProvider()
	if err != nil {
		return nil, err
	}
	if err := q.mayChangeProviders(); err != nil {
		return nil, err
	}
	var in IdentityProviderUpdate
	if err := q.decode(&in); err != nil {
		return nil, err
	}
	v, err := q.ifVersion(in.Metadata)
	if err != nil {
		return nil, err
	}
	next := *o
	changed := map[string]any{}
	setField(changed, "display_name", &next.DisplayName, in.DisplayName)
	setField(changed, "description", &next.Description, in.Description)
	setField(changed, "issuer", &next.Issuer, in.Issuer)
	setField(changed, "jwks_uri", &next.JWKSURI, in.JWKSURI)
	if in.Audiences != nil {
		next.Audiences = slices.Clone(*in.Audiences)
		changed["audiences"] = next.Audiences
	}
	var p problems
	s.checkProvider(&p, &next)
	if err := p.err(); err != nil {
		return nil, err
	}
	n, err := q.replace(&next, v, changed)
	if err != nil {
		return nil, err
	}
	return q.provider(n.(*store.IdentityProvider)), nil
}

func (s *Server) deleteProvider(q *request) (any, error) {
	o, err := q.visibleProvider()
	if err != nil {
		return nil, err
	}
	if err := q.mayChangeProviders(); err != nil {
		return nil, err
	}
	return nil, q.remove(store.KindIdentityProvider, o.Metadata.ID)
}

func (s *Server) listPools(q *request) (any, error) {
	prov, err := q.visibleProvider()
	if err != nil {
		return nil, err
	}
	var ids []string
	var out []IdentityPool
	for _, o := range q.snap.Pools() {
		if o.Provider == prov.Metadata.ID {
			ids = append(ids, o.Metadata.ID)
			out = append(out, q.pool(o))
		}
	}
	return pageOf(q, "IdentityPoolList", ids, out)
}

func (q *request) visiblePool() (*store.IdentityPool, error) {
	prov, err := q.visibleProvider()
	if err != nil {
		return nil, err
	}
	id := q.pathParam("pool")
	q.event.Object = id
	o, ok := q.snap.Pool(id)
	if !ok || o.Provider != prov.Metadata.ID {
		return nil, errorf(http.StatusNotFound, "identity pool %s of provider %s does not exist", id, prov.Metadata.ID)
	}
	return o, nil
}

func (s *Server) getPool(q *request) (any, error) {
	o, err := q.visiblePool()
	if err != nil {
		return nil, err
	}
	q.etag(&o.Metadata)
	return q.pool(o), nil
}

// checkPool compiles the pool's expressions, so that a pool that would
// fail every login is refused with the place of the error.
func checkPool(p *problems, o *store.IdentityPool) {
	checkName(p, "/display_name", o.DisplayName, true)
	checkText(p, "/description", o.Description)
	if len(o.Filter) > 4096 || len(o.IdentityClaim) > 1024 {
		p.add("/filter", "filter (4096 bytes) or identity_claim (1024 bytes) too long")
		return
	}
	if strings.TrimSpace(o.Filter) == "" {
		p.add("/filter", "filter is required: a CEL expression over claims, such as claims.aud == \"kafka\"")
		return
	}
	_, err := pool.Compile(pool.Config{ID: o.Metadata.ID, Provider: o.Provider, IdentityClaim: o.IdentityClaim, Filter: o.Filter})
	var ee *pool.ExprError
	switch {
	case errors.As(err, &ee):
		p.add("/"+ee.Field, "%v", ee)
	case err != nil:
		p.add("/filter", "%v", err)
	}
}

func (s *Server) createPool(q *request) (any, error) {
	prov, err := q.visibleProvider()
	if err != nil {
		return nil, err
	}
	if err := q.mayChangeProviders(); err != nil {
		return nil, err
	}
	var in IdentityPoolCreate
	if err := q.decode(&in); err != nil {
		return nil, err
	}
	id, err := newID(q.snap, store.KindIdentityPool, strings.TrimSuffix(store.PoolPrefix, "-"))
	if err != nil {
		return nil, err
	}
	o := &store.IdentityPool{Metadata: store.Meta{ID: id}, Provider: prov.Metadata.ID, DisplayName: in.DisplayName,
		Description: in.Description, IdentityClaim: in.IdentityClaim, Filter: in.Filter}
	if o.IdentityClaim == "" {
		o.IdentityClaim = pool.DefaultIdentityClaim
	}
	var p problems
	checkPool(&p, o)
	if err := p.err(); err != nil {
		return nil, err
	}
	q.event.Object = id
	q.event.Changed = map[string]any{"provider": o.Provider, "display_name": o.DisplayName, "identity_claim": o.IdentityClaim, "filter": o.Filter}
	snap, err := q.apply(store.Create(o))
	if err != nil {
		return nil, err
	}
	n, _ := snap.Pool(id)
	q.etag(&n.Metadata)
	q.header.Set("Location", q.self("/iam/v2/identity-providers/"+prov.Metadata.ID+"/identity-pools/"+id))
	return q.pool(n), nil
}

func (s *Server) updatePool(q *request) (any, error) {
	o, err := q.visiblePool()
	if err != nil {
		return nil, err
	}
	if err := q.mayChangeProviders(); err != nil {
		return nil, err
	}
	var in IdentityPoolUpdate
	if err := q.decode(&in); err != nil {
		return nil, err
	}
	v, err := q.ifVersion(in.Metadata)
	if err != nil {
		return nil, err
	}
	next := *o
	changed := map[string]any{}
	setField(changed, "display_name", &next.DisplayName, in.DisplayName)
	setField(changed, "description", &next.Description, in.Description)
	setField(changed, "identity_claim", &next.IdentityClaim, in.IdentityClaim)
	setField(changed, "filter", &next.Filter, in.Filter)
	if next.IdentityClaim == "" {
		next.IdentityClaim = pool.DefaultIdentityClaim
	}
	var p problems
	checkPool(&p, &next)
	if err := p.err(); err != nil {
		return nil, err
	}
	n, err := q.replace(&next, v, changed)
	if err != nil {
		return nil, err
	}
	return q.pool(n.(*store.IdentityPool)), nil
}

func (s *Server) deletePool(q *request) (any, error) {
	o, err := q.visiblePool()
	if err != nil {
		return nil, err
	}
	if err := q.mayChangeProviders(); err != nil {
		return nil, err
	}
	return nil, q.remove(store.KindIdentityPool, o.Metadata.ID)
}
