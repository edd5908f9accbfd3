package authz

import (
	"os"
	"strings"
	"testing"
)

// roleTableMarkdown renders every role's exact grants, as the README shows
// them.
func roleTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| role | binds to | Cluster | Topic | Group | TransactionalId |\n|---|---|---|---|---|---|\n")
	for _, role := range Roles() {
		grants, _ := RoleGrants(role)
		cells := map[ResourceType]string{}
		var covers []string
		for _, g := range grants {
			var names []string
			for _, op := range g.Operations {
				names = append(names, op.String())
			}
			cells[g.ResourceType] = strings.Join(names, ", ")
			if g.ResourceType != ResourceCluster {
				covers = append(covers, map[ResourceType]string{
					ResourceTopic: "topic", ResourceGroup: "group", ResourceTransactionalID: "transactional id",
				}[g.ResourceType])
			}
		}
		binds := "the cluster"
		if !RoleIsClusterWide(role) {
			binds = "a " + strings.Join(covers, " or ") + " (name or prefix)"
		}
		b.WriteString("| " + role + " | " + binds)
		for _, rt := range []ResourceType{ResourceCluster, ResourceTopic, ResourceGroup, ResourceTransactionalID} {
			cell := cells[rt]
			if cell == "" {
				cell = "–"
			}
			b.WriteString(" | " + cell)
		}
		b.WriteString(" |\n")
	}
	return b.String()
}

// The README's role table is generated from the role definitions, so that
// it cannot drift. UPDATE_README=1 rewrites it.
func TestREADMERoleTable(t *testing.T) {
	const begin, end = "<!-- roles:begin -->\n", "<!-- roles:end -->"
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README.md has no role table markers")
	}
	want := roleTableMarkdown()
	if got := s[i+len(begin) : j]; got != want {
		if os.Getenv("UPDATE_README") != "" {
			if err := os.WriteFile("../README.md", []byte(s[:i+len(begin)]+want+s[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md's role table is out of date (run with UPDATE_README=1):\n%s", want)
	}
}
