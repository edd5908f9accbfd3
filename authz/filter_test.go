package authz

import (
	"strings"
	"testing"
)

func strPtr(s string) *string { return &s }

// anyFilter selects every ACL; cases below narrow it one field at a time.
var anyFilter = Filter{ResourceType: ResourceAny, Pattern: PatternAny, Operation: OpAny, Permission: PermissionAny}

func TestFilterMatches(t *testing.T) {
	literal := allowACL(alice, ResourceTopic, PatternLiteral, "orders", OpRead)
	prefixed := allowACL(alice, ResourceTopic, PatternPrefixed, "ord", OpRead)
	wildcard := allowACL(alice, ResourceTopic, PatternLiteral, Wildcard, OpRead)
	prefixedStar := allowACL(alice, ResourceTopic, PatternPrefixed, Wildcard, OpRead)
	group := allowACL(alice, ResourceGroup, PatternLiteral, "orders", OpRead)
	all := []ACL{literal, prefixed, wildcard, prefixedStar, group}

	with := func(edit func(*Filter)) Filter { f := anyFilter; edit(&f); return f }
	tests := []struct {
		name   string
		filter Filter
		want   []ACL // of all, in order
	}{
		{"ANY everything selects every ACL", anyFilter, all},
		{"a resource type selects that type",
			with(func(f *Filter) { f.ResourceType = ResourceGroup }), []ACL{group}},
		{"a nil name with a pattern type selects that pattern type",
			with(func(f *Filter) { f.Pattern = PatternPrefixed }), []ACL{prefixed, prefixedStar}},
		{"LITERAL selects LITERAL ACLs with an equal name",
			with(func(f *Filter) { f.Pattern, f.Name = PatternLiteral, strPtr("orders") }), []ACL{literal, group}},
		{"LITERAL * selects the wildcard ACLs only",
			with(func(f *Filter) { f.Pattern, f.Name = PatternLiteral, strPtr(Wildcard) }), []ACL{wildcard}},
		{"PREFIXED selects PREFIXED ACLs with an equal prefix, not longer names",
			with(func(f *Filter) { f.Pattern, f.Name = PatternPrefixed, strPtr("ord") }), []ACL{prefixed}},
		{"PREFIXED does not select the prefixes of a name",
			with(func(f *Filter) { f.Pattern, f.Name = PatternPrefixed, strPtr("orders") }), nil},
		{"ANY selects every pattern type with an equal name",
			with(func(f *Filter) { f.Name = strPtr("ord") }), []ACL{prefixed}},
		{"ANY with * selects ACLs named * of both pattern types",
			with(func(f *Filter) { f.Name = strPtr(Wildcard) }), []ACL{wildcard, prefixedStar}},
		{"MATCH selects what applies to a resource: literal, wildcard and prefixes of the name",
			with(func(f *Filter) { f.Pattern, f.Name = PatternMatch, strPtr("orders") }), []ACL{literal, prefixed, wildcard, group}},
		{"MATCH on a topic only",
			with(func(f *Filter) { f.ResourceType, f.Pattern, f.Name = ResourceTopic, PatternMatch, strPtr("orders") }),
			[]ACL{literal, prefixed, wildcard}},
		{"MATCH does not select longer prefixes",
			with(func(f *Filter) { f.Pattern, f.Name = PatternMatch, strPtr("or") }), []ACL{wildcard}},
		{"MATCH with a nil name selects every pattern type",
			with(func(f *Filter) { f.Pattern = PatternMatch }), all},
		{"MATCH on * selects PREFIXED * as its name starts with *",
			with(func(f *Filter) { f.ResourceType, f.Pattern, f.Name = ResourceTopic, PatternMatch, strPtr("*x") }),
			[]ACL{wildcard, prefixedStar}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []ACL
			for _, a := range all {
				if tt.filter.Matches(a) {
					got = append(got, a)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%s selects %v, want %v", tt.filter, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("%s selects %v, want %v", tt.filter, got, tt.want)
				}
			}
		})
	}
}

func TestFilterMatchesEntry(t *testing.T) {
	a := onHost(denyACL(alice, ResourceTopic, PatternLiteral, "t", OpWrite), host1)
	star := denyACL(WildcardPrincipal, ResourceTopic, PatternLiteral, "t", OpWrite)
	with := func(edit func(*Filter)) Filter { f := anyFilter; edit(&f); return f }
	tests := []struct {
		name                  string
		filter                Filter
		selectsA, selectsStar bool
	}{
		{"a principal selects that principal", with(func(f *Filter) { f.Principal = strPtr(alice) }), true, false},
		{"User:* selects the User:* ACLs, not everyone's", with(func(f *Filter) { f.Principal = strPtr(WildcardPrincipal) }), false, true},
		{"a host selects that host", with(func(f *Filter) { f.Host = strPtr(host1) }), true, false},
		{"host * selects ACLs for any host, not every ACL", with(func(f *Filter) { f.Host = strPtr(Wildcard) }), false, true},
		{"an operation selects that operation", with(func(f *Filter) { f.Operation = OpWrite }), true, true},
		{"All selects ACLs on All only, not every operation", with(func(f *Filter) { f.Operation = OpAll }), false, false},
		{"a permission selects that permission", with(func(f *Filter) { f.Permission = PermissionAllow }), false, false},
		{"DENY", with(func(f *Filter) { f.Permission = PermissionDeny }), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.filter.Matches(a); got != tt.selectsA {
				t.Errorf("%s selects %s: %v, want %v", tt.filter, a, got, tt.selectsA)
			}
			if got := tt.filter.Matches(star); got != tt.selectsStar {
				t.Errorf("%s selects %s: %v, want %v", tt.filter, star, got, tt.selectsStar)
			}
		})
	}
}

func TestFilterValidate(t *testing.T) {
	with := func(edit func(*Filter)) Filter { f := anyFilter; edit(&f); return f }
	tests := []struct {
		name    string
		filter  Filter
		wantErr string
	}{
		{"ANY and MATCH are fine in a filter", with(func(f *Filter) { f.Pattern = PatternMatch }), ""},
		{"an exact filter", Filter{ResourceTopic, strPtr("t"), PatternLiteral, strPtr(alice), strPtr(Wildcard), OpRead, PermissionAllow}, ""},
		{"resource types Kafka knows but the proxy has no ACLs for (User)",
			with(func(f *Filter) { f.ResourceType = 7 }), ""},
		{"operations Kafka knows but the proxy has no ACLs for (DescribeTokens)",
			with(func(f *Filter) { f.Operation = 14 }), ""},
		{"UNKNOWN resource type", with(func(f *Filter) { f.ResourceType = 0 }), "resource type Unknown(0)"},
		{"resource type beyond Kafka's", with(func(f *Filter) { f.ResourceType = 8 }), "resource type Unknown(8)"},
		{"UNKNOWN pattern type", with(func(f *Filter) { f.Pattern = 0 }), "pattern type Unknown(0)"},
		{"UNKNOWN operation", with(func(f *Filter) { f.Operation = 0 }), "operation Unknown(0)"},
		{"operation beyond Kafka's", with(func(f *Filter) { f.Operation = 15 }), "operation Unknown(15)"},
		{"UNKNOWN permission", with(func(f *Filter) { f.Permission = 0 }), "permission Unknown(0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.filter.Validate()
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate(%s) = %v, want %q", tt.filter, err, tt.wantErr)
			}
		})
	}
	// Filters with values no ACL has select nothing.
	f := with(func(f *Filter) { f.ResourceType = 7 })
	if f.Matches(topicACL(alice, "t", OpRead)) {
		t.Error("a User resource filter selected a topic ACL")
	}
}
