package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"testing"
)

// example.yaml loads cleanly and documents the defaults the code uses.
func TestExampleLoads(t *testing.T) {
	cfg, err := Load("example.yaml")
	if err != nil {
		t.Fatalf("example.yaml:\n%v", err)
	}
	want := Default()
	want.Auth = AuthNone
	want.Upstream.Bootstrap = []string{"127.0.0.1:19092"}
	if err := want.Normalize(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("example.yaml does not match Default():\n got %+v\nwant %+v", cfg, want)
	}
}

// commentedKey matches an optional setting written as "#key: value" (or a key
// inside such a block, "#  key: value").
var commentedKey = regexp.MustCompile(`(?m)^(\s*)#(\s*(?:- )?[a-z_]+:(?: .*)?)$`)

// Every key of Config appears in example.yaml, set or commented out.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	uncommented := commentedKey.ReplaceAll(data, []byte("$1$2"))
	root, problems := parseYAML(uncommented)
	if problems != nil {
		t.Fatalf("example.yaml with optional settings uncommented is not YAML: %v\n%s", problems, uncommented)
	}
	d := &decoder{lookup: envMap("KAFKA_PROXY_PASSWORD", "x"), lines: map[string]int{}}
	d.decode(root, reflect.ValueOf(Default()).Elem(), "")
	if d.problems != nil {
		t.Errorf("example.yaml with optional settings uncommented: %s", formatProblems(d.problems))
	}
	var documented []string
	index := regexp.MustCompile(`\[\d+\]`)
	for p := range d.lines {
		if !regexp.MustCompile(`\[\d+\]$`).MatchString(p) {
			documented = append(documented, index.ReplaceAllString(p, "[]"))
		}
	}
	sort.Strings(documented)
	all := keyPaths(reflect.TypeFor[Config](), "")
	for _, p := range all {
		if !slices.Contains(documented, p) {
			t.Errorf("example.yaml does not document %s", p)
		}
	}
}

// keyPaths lists every key path of a configuration type.
func keyPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		p := joinPath(prefix, name)
		out = append(out, p)
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			out = append(out, keyPaths(ft.Elem(), p+"[]")...)
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Duration]() {
			out = append(out, keyPaths(ft, p)...)
		}
	}
	return out
}
