package store

import (
	"fmt"
	"strings"
)

// CRNPrefix starts every CRN (Confluent resource name) the proxy uses.
const CRNPrefix = "crn://kafka-auth-proxy/"

// Resource types a CRN can end with, as CRN segment names.
const (
	CRNTopic           = "topic"
	CRNGroup           = "group"
	CRNTransactionalID = "transactional-id"
)

// Scope is a parsed CRN pattern: where a role binding applies.
//
//	crn://kafka-auth-proxy/organization=org-1                          the organization
//	crn://kafka-auth-proxy/organization=org-1/environment=env-a        an environment
//	…/environment=env-a/cloud-cluster=lkc-1                            a cluster
//	…/cloud-cluster=lkc-1/kafka=lkc-1/topic=orders-*                   topics named orders-…
//
// A trailing * makes a resource name a prefix; a name of * alone is every
// resource of the type.
type Scope struct {
	Organization string
	Environment  string
	CloudCluster string
	// Kafka is the Kafka cluster of a resource; it equals CloudCluster.
	Kafka string
	// ResourceType is CRNTopic, CRNGroup, CRNTransactionalID, or "".
	ResourceType string
	// ResourceName is the name, or the prefix when Prefix is set.
	ResourceName string
	Prefix       bool
}

// crnSegments are the segment names in the order they must appear.
var crnSegments = []string{"organization", "environment", "cloud-cluster", "kafka"}

// ParseCRN parses a CRN pattern. Every problem is reported.
func ParseCRN(s string) (Scope, error) {
	var sc Scope
	rest, ok := strings.CutPrefix(s, CRNPrefix)
	if !ok {
		return sc, fmt.Errorf("CRN %q must start with %s", s, CRNPrefix)
	}
	parts := strings.Split(rest, "/")
	fields := []*string{&sc.Organization, &sc.Environment, &sc.CloudCluster, &sc.Kafka}
	for i, p := range parts {
		name, value, ok := strings.Cut(p, "=")
		if !ok || value == "" {
			return sc, fmt.Errorf("CRN %q: segment %q is not name=value", s, p)
		}
		if i < len(crnSegments) && name == crnSegments[i] {
			if strings.ContainsAny(value, "*") {
				return sc, fmt.Errorf("CRN %q: %s may not contain *", s, name)
			}
			*fields[i] = value
			continue
		}
		if i != len(parts)-1 || (name != CRNTopic && name != CRNGroup && name != CRNTransactionalID) {
			want := "topic, group or transactional-id"
			if i < len(crnSegments) {
				want = crnSegments[i]
			}
			return sc, fmt.Errorf("CRN %q: segment %d is %q; want %s", s, i+1, name, want)
		}
		if i != len(crnSegments) {
			return sc, fmt.Errorf("CRN %q: a %s needs organization, environment, cloud-cluster and kafka before it", s, name)
		}
		sc.ResourceType = name
		sc.ResourceName = value
		if n, ok := strings.CutSuffix(value, "*"); ok && value != "*" {
			sc.ResourceName, sc.Prefix = n, true
		}
		if strings.Contains(sc.ResourceName, "*") && value != "*" {
			return sc, fmt.Errorf("CRN %q: * may only end a resource name", s)
		}
	}
	if sc.Kafka != "" && sc.Kafka != sc.CloudCluster {
		return sc, fmt.Errorf("CRN %q: kafka=%s must name the cloud-cluster (%s)", s, sc.Kafka, sc.CloudCluster)
	}
	return sc, nil
}

// String is the CRN of sc.
func (sc Scope) String() string {
	var b strings.Builder
	b.WriteString(CRNPrefix)
	vals := []string{sc.Organization, sc.Environment, sc.CloudCluster, sc.Kafka}
	for i, v := range vals {
		if v == "" {
			break
		}
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(crnSegments[i] + "=" + v)
	}
	if sc.ResourceType != "" {
		b.WriteString("/" + sc.ResourceType + "=" + sc.ResourceName)
		if sc.Prefix {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// Level names how far sc reaches, for messages: "organization",
// "environment", "cluster" or "resource".
func (sc Scope) Level() string {
	switch {
	case sc.ResourceType != "":
		return "resource"
	case sc.CloudCluster != "":
		return "cluster"
	case sc.Environment != "":
		return "environment"
	}
	return "organization"
}

// Contains reports whether every resource t covers is also covered by sc:
// sc names the same organization, environment and cluster as far as it
// goes, and a resource of sc covers t's name.
func (sc Scope) Contains(t Scope) bool {
	if sc.Organization != t.Organization {
		return false
	}
	for _, p := range [][2]string{{sc.Environment, t.Environment}, {sc.CloudCluster, t.CloudCluster}, {sc.Kafka, t.Kafka}} {
		if p[0] != "" && p[0] != p[1] {
			return false
		}
	}
	if sc.ResourceType == "" {
		return true
	}
	if sc.ResourceType != t.ResourceType {
		return false
	}
	switch {
	case sc.ResourceName == "*" && !sc.Prefix:
		return true
	case t.ResourceName == "*" && !t.Prefix:
		return false
	case sc.Prefix:
		return strings.HasPrefix(t.ResourceName, sc.ResourceName)
	}
	return !t.Prefix && t.ResourceName == sc.ResourceName
}

// OrganizationCRN is the CRN of an organization.
func OrganizationCRN(org string) string { return Scope{Organization: org}.String() }
