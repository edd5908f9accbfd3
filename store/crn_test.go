package store

import (
	"strings"
	"testing"
)

const (
	tOrg     = "crn://kafka-auth-proxy/organization=org-1"
	tEnv     = tOrg + "/environment=env-a"
	tCluster = tEnv + "/cloud-cluster=lkc-1"
	tKafka   = tCluster + "/kafka=lkc-1"
)

func TestParseCRN(t *testing.T) {
	for _, tc := range []struct {
		crn   string
		want  Scope
		level string
	}{
		{tOrg, Scope{Organization: "org-1"}, "organization"},
		{tEnv, Scope{Organization: "org-1", Environment: "env-a"}, "environment"},
		{tCluster, Scope{Organization: "org-1", Environment: "env-a", CloudCluster: "lkc-1"}, "cluster"},
		{tKafka, Scope{Organization: "org-1", Environment: "env-a", CloudCluster: "lkc-1", Kafka: "lkc-1"}, "cluster"},
		{tKafka + "/topic=orders", Scope{Organization: "org-1", Environment: "env-a", CloudCluster: "lkc-1", Kafka: "lkc-1",
			ResourceType: CRNTopic, ResourceName: "orders"}, "resource"},
		{tKafka + "/topic=orders-*", Scope{Organization: "org-1", Environment: "env-a", CloudCluster: "lkc-1", Kafka: "lkc-1",
			ResourceType: CRNTopic, ResourceName: "orders-", Prefix: true}, "resource"},
		{tKafka + "/topic=*", Scope{Organization: "org-1", Environment: "env-a", CloudCluster: "lkc-1", Kafka: "lkc-1",
			ResourceType: CRNTopic, ResourceName: "*"}, "resource"},
		{tKafka + "/group=app-1", Scope{Organization: "org-1", Environment: "env-a", CloudCluster: "lkc-1", Kafka: "lkc-1",
			ResourceType: CRNGroup, ResourceName: "app-1"}, "resource"},
		{tKafka + "/transactional-id=tx*", Scope{Organization: "org-1", Environment: "env-a", CloudCluster: "lkc-1", Kafka: "lkc-1",
			ResourceType: CRNTransactionalID, ResourceName: "tx", Prefix: true}, "resource"},
	} {
		t.Run(tc.crn, func(t *testing.T) {
			got, err := ParseCRN(tc.crn)
			if err != nil {
				t.Fatalf("ParseCRN: %v", err)
			}
			if got != tc.want {
				t.Errorf("ParseCRN = %+v, want %+v", got, tc.want)
			}
			if s := got.String(); s != tc.crn {
				t.Errorf("String() = %q, want the CRN parsed", s)
			}
			if l := got.Level(); l != tc.level {
				t.Errorf("Level() = %q, want %q", l, tc.level)
			}
		})
	}
}

func TestParseCRNErrors(t *testing.T) {
	for _, tc := range []struct {
		name, crn string
		want      string // in the error
	}{
		{"wrong prefix", "crn://confluent.cloud/organization=org-1", "must start with"},
		{"no prefix", "organization=org-1", "must start with"},
		{"nothing after the prefix", "crn://kafka-auth-proxy/", "not name=value"},
		{"a segment without a value", "crn://kafka-auth-proxy/organization=", "not name=value"},
		{"a segment without =", tOrg + "/environment", "not name=value"},
		{"an empty segment", tOrg + "//environment=env-a", "not name=value"},
		{"environment before organization", "crn://kafka-auth-proxy/environment=env-a/organization=org-1", "want organization"},
		{"cluster without environment", tOrg + "/cloud-cluster=lkc-1", "want environment"},
		{"kafka without cloud-cluster", tEnv + "/kafka=lkc-1", "want cloud-cluster"},
		{"an unknown segment", tOrg + "/region=eu", "want environment"},
		{"an unknown resource type", tKafka + "/cluster=x", "topic, group or transactional-id"},
		{"kafka is not the cloud-cluster", tCluster + "/kafka=lkc-2", "must name the cloud-cluster"},
		{"kafka is not the cloud-cluster of a resource", tCluster + "/kafka=lkc-2/topic=orders", "must name the cloud-cluster"},
		{"* in the middle of a name", tKafka + "/topic=ord*ers", "* may only end"},
		{"* in the middle of a prefix", tKafka + "/topic=or*ders-*", "* may only end"},
		{"** as a name", tKafka + "/topic=**", "* may only end"},
		{"* in an organization", "crn://kafka-auth-proxy/organization=*", "may not contain *"},
		{"* in a cluster", tEnv + "/cloud-cluster=lkc-*", "may not contain *"},
		{"a resource without a cluster", tOrg + "/topic=orders", "needs organization, environment, cloud-cluster and kafka"},
		{"a resource without kafka", tCluster + "/topic=orders", "needs organization, environment, cloud-cluster and kafka"},
		{"a resource without anything", "crn://kafka-auth-proxy/topic=orders", "needs organization"},
		{"a resource that is not last", tKafka + "/topic=a/topic=b", "segment 5"},
		{"a segment after the resource", tKafka + "/topic=a/group=b", "segment 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := ParseCRN(tc.crn)
			if err == nil {
				t.Fatalf("ParseCRN(%q) = %+v, want an error", tc.crn, sc)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.crn) {
				t.Errorf("ParseCRN(%q) error %q, want one naming the CRN and containing %q", tc.crn, err, tc.want)
			}
		})
	}
}

func TestOrganizationCRN(t *testing.T) {
	if got := OrganizationCRN("org-1"); got != tOrg {
		t.Errorf("OrganizationCRN = %q, want %q", got, tOrg)
	}
	sc, err := ParseCRN(OrganizationCRN("org-1"))
	if err != nil || sc.Level() != "organization" {
		t.Errorf("ParseCRN(OrganizationCRN) = %+v, %v", sc, err)
	}
}

func TestScopeContains(t *testing.T) {
	topic := tKafka + "/topic="
	for _, tc := range []struct {
		name       string
		outer, crn string
		want       bool
	}{
		{"an organization contains itself", tOrg, tOrg, true},
		{"an organization contains its environments", tOrg, tEnv, true},
		{"an organization contains its topics", tOrg, topic + "orders", true},
		{"an organization does not contain another's environments", tOrg, "crn://kafka-auth-proxy/organization=org-2/environment=env-a", false},
		{"an environment does not contain its organization", tEnv, tOrg, false},
		{"an environment does not contain another environment", tEnv, tOrg + "/environment=env-b", false},
		{"an environment contains its clusters", tEnv, tCluster, true},
		{"a cluster contains its topics", tCluster, topic + "orders", true},
		{"a cluster contains its topic prefixes", tCluster, topic + "orders-*", true},
		{"a cluster contains its groups", tCluster, tKafka + "/group=app", true},
		{"a cluster does not contain another cluster's topics",
			tCluster, tEnv + "/cloud-cluster=lkc-2/kafka=lkc-2/topic=orders", false},
		{"a cluster's kafka segment contains the same cluster's topics", tKafka, topic + "orders", true},
		{"a topic does not contain its cluster", topic + "orders", tCluster, false},
		{"a literal contains itself", topic + "orders", topic + "orders", true},
		{"a literal does not contain another literal", topic + "orders", topic + "orders-1", false},
		{"a literal does not contain the prefix of its name", topic + "orders-", topic + "orders-*", false},
		{"a prefix contains a literal it starts", topic + "orders-*", topic + "orders-1", true},
		{"a prefix contains the literal of the prefix itself", topic + "orders-*", topic + "orders-", true},
		{"a prefix contains a longer prefix", topic + "orders-*", topic + "orders-eu-*", true},
		{"a prefix contains itself", topic + "orders-*", topic + "orders-*", true},
		{"a prefix does not contain a shorter name", topic + "orders-*", topic + "orders", false},
		{"a prefix does not contain a shorter prefix", topic + "orders-eu-*", topic + "orders-*", false},
		{"a prefix does not contain every topic", topic + "orders-*", topic + "*", false},
		{"every topic contains a literal", topic + "*", topic + "orders", true},
		{"every topic contains a prefix", topic + "*", topic + "orders-*", true},
		{"every topic contains every topic", topic + "*", topic + "*", true},
		{"a literal does not contain every topic", topic + "orders", topic + "*", false},
		{"every topic does not contain groups", topic + "*", tKafka + "/group=orders", false},
		{"a group does not contain the topic of its name", tKafka + "/group=orders", topic + "orders", false},
		{"a transactional-id prefix does not contain groups", tKafka + "/transactional-id=tx*", tKafka + "/group=tx-1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outer, err := ParseCRN(tc.outer)
			if err != nil {
				t.Fatal(err)
			}
			inner, err := ParseCRN(tc.crn)
			if err != nil {
				t.Fatal(err)
			}
			if got := outer.Contains(inner); got != tc.want {
				t.Errorf("%s contains %s = %v, want %v", tc.outer, tc.crn, got, tc.want)
			}
		})
	}
}

func TestIsOrganizationAdmin(t *testing.T) {
	for _, tc := range []struct {
		role, crn string
		want      bool
	}{
		{RoleOrganizationAdmin, tOrg, true},
		{RoleOrganizationAdmin, tEnv, false},
		{RoleOrganizationAdmin, tCluster, false},
		{RoleOrganizationAdmin, "not a crn", false},
		{"EnvironmentAdmin", tOrg, false},
		{"organizationadmin", tOrg, false},
	} {
		if got := IsOrganizationAdmin(&RoleBinding{RoleName: tc.role, CRNPattern: tc.crn}); got != tc.want {
			t.Errorf("IsOrganizationAdmin(%s on %s) = %v, want %v", tc.role, tc.crn, got, tc.want)
		}
	}
}
