package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Path is the key path, e.g. "upstream.bootstrap[1]" or
	// "listener.tls.cert_file". Empty for problems with the file as a whole
	// (a YAML syntax error, an unreadable file).
	Path string
	// Line is the 1-based line in the file, or 0 when the value did not come
	// from the file (a default, or a required key that is missing).
	Line int
	// Message says what is wrong and, where possible, how to fix it.
	Message string
}

// Describe formats p as "source:line: path: message", leaving out the line
// when it is 0 and the path when it is empty.
func (p Problem) Describe(source string) string {
	var b strings.Builder
	b.WriteString(source)
	if p.Line > 0 {
		if source != "" {
			b.WriteByte(':')
		} else {
			b.WriteString("line ")
		}
		b.WriteString(strconv.Itoa(p.Line))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// String formats p as "line N: path: message".
func (p Problem) String() string { return p.Describe("") }

// NewProblemsError is a *ProblemsError for source's problems, in file
// order (problems without a line last), each once.
func NewProblemsError(source string, problems []Problem) *ProblemsError {
	return &ProblemsError{Source: source, Problems: sortProblems(slicesClone(problems))}
}

func slicesClone(ps []Problem) []Problem { return append([]Problem(nil), ps...) }

// File is a configuration file as Read found it.
type File struct {
	// Config is what the file decoded to, even when it has problems (then
	// it is not normalized); nil when its YAML does not parse.
	Config *Config
	// Problems are every problem the config package found in it.
	Problems []Problem
	lines    map[string]int
}

// Line is the line of a key path in the file or, for a key missing from a
// section that is in the file, the line of the nearest enclosing section;
// 0 when none of it came from the file. Checks made outside this package
// use it to report lines as Load does.
func (f *File) Line(path string) int { return (&checker{lines: f.lines}).line(path) }

// Read reads the configuration file at path like Load, keeping what it
// decoded beside its problems, so that a caller can add checks of its own
// and report every problem at once. Only an unreadable file is an error.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	cfg, problems, lines := decode(data, os.LookupEnv)
	return &File{Config: cfg, Problems: problems, lines: lines}, nil
}

// ProblemsError is the error Load and Parse return for a bad configuration.
// It holds every problem found, in file order; problems without a line come
// last.
type ProblemsError struct {
	// Source names the configuration, usually its file path.
	Source   string
	Problems []Problem
}

// Error prints one problem per line as "source:line: key.path: message".
func (e *ProblemsError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Describe(e.Source)
	}
	return strings.Join(lines, "\n")
}

// Load reads the configuration file at path, expanding ${VAR} references from
// the process environment. See ParseWithEnv.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	return ParseWithEnv(data, path, os.LookupEnv)
}

// Parse is ParseWithEnv with the process environment.
func Parse(data []byte, source string) (*Config, error) {
	return ParseWithEnv(data, source, os.LookupEnv)
}

// ParseWithEnv builds a Config from YAML: it starts from Default, decodes data
// over it strictly (an unknown key is a problem), expands ${VAR},
// ${VAR:-default} and $$ in scalar values using lookup, validates the result
// and calls Normalize. source names data in messages, usually a file path.
//
// When anything is wrong the error is a *ProblemsError listing every problem.
//
// A list of strings (upstream.bootstrap) may also be written as one
// comma-separated string, which is convenient with ${VAR}.
func ParseWithEnv(data []byte, source string, lookup LookupFunc) (*Config, error) {
	cfg, problems := parse(data, lookup)
	if len(problems) > 0 {
		return nil, &ProblemsError{Source: source, Problems: problems}
	}
	return cfg, nil
}

// Check loads the configuration at path and returns every problem with it, or
// nil when it is valid. It is the check-config command. A file that cannot be
// read is reported as one problem without a path.
func Check(path string) []Problem {
	_, err := Load(path)
	if err == nil {
		return nil
	}
	var pe *ProblemsError
	if errors.As(err, &pe) {
		return pe.Problems
	}
	return []Problem{{Message: err.Error()}}
}

// Validate checks a Config built in code (Load and Parse validate already).
// Problems carry no line numbers. Call it before Normalize; a Config that has
// been normalised validates too.
func (c *Config) Validate() []Problem {
	return sortProblems(validate(c, nil, nil))
}

func parse(data []byte, lookup LookupFunc) (*Config, []Problem) {
	cfg, problems, _ := decode(data, lookup)
	if len(problems) > 0 {
		return nil, problems
	}
	return cfg, nil
}

// decode builds a Config from YAML and returns it with its problems and
// the lines of its key paths.
func decode(data []byte, lookup LookupFunc) (*Config, []Problem, map[string]int) {
	root, problems := parseYAML(data)
	if len(problems) > 0 {
		return nil, problems, nil
	}
	cfg := Default()
	d := &decoder{lookup: lookup, lines: map[string]int{}}
	if root != nil {
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	}
	canonicalize(cfg)
	problems = append(d.problems, validate(cfg, d.lines, d.failed)...)
	if len(problems) == 0 {
		if err := cfg.Normalize(); err != nil {
			problems = append(problems, Problem{Path: "listener.address", Line: d.lines["listener.address"], Message: err.Error()})
		}
	}
	return cfg, sortProblems(problems), d.lines
}

// sortProblems drops repeated problems and orders the rest by line, those
// without a line last, keeping the original order among equals.
func sortProblems(ps []Problem) []Problem {
	// A value reached twice through YAML aliases is reported once.
	seen := map[Problem]bool{}
	uniq := ps[:0]
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			uniq = append(uniq, p)
		}
	}
	ps = uniq
	sort.SliceStable(ps, func(i, j int) bool {
		li, lj := ps[i].Line, ps[j].Line
		if (li == 0) != (lj == 0) {
			return lj == 0
		}
		return li < lj
	})
	return ps
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML returns the top-level node of the single document in data, nil
// for an empty document.
func parseYAML(data []byte) (*yaml.Node, []Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, []Problem{syntaxProblem(err)}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, []Problem{syntaxProblem(err)}
	default:
		return nil, []Problem{{Line: next.Line, Message: "more than one YAML document; the configuration must be a single document"}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// yamlParserProblems are the messages of libyaml's parser (as opposed to its
// scanner). yaml.v3 reports their line 0-based, one less than the line meant.
var yamlParserProblems = map[string]bool{
	"did not find expected node content":     true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected <document start>": true,
}

func syntaxProblem(err error) Problem {
	msg := err.Error()
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if yamlParserProblems[m[2]] {
			line++
		}
		return Problem{Line: line, Message: "invalid YAML: " + m[2]}
	}
	return Problem{Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// decoder walks a yaml.Node tree alongside the Config struct, so that every
// unknown key and badly typed value is reported with its key path and line,
// and records the line of every key it sees for validation.
type decoder struct {
	lookup   LookupFunc
	problems []Problem
	// lines maps key paths present in the file to their lines.
	lines map[string]int
	// failed holds the paths whose values could not be decoded; validation
	// says nothing more about them or what they contain.
	failed map[string]bool
}

func (d *decoder) add(path string, line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
	if d.failed == nil {
		d.failed = map[string]bool{}
	}
	d.failed[path] = true
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// decode stores n into v, which must be addressable.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	line := n.Line
	n = resolveAlias(n)
	null := isNull(n)

	if reflect.PointerTo(v.Type()).Implements(textUnmarshalerType) {
		d.decodeText(n, v, path, line)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if null {
			v.SetZero()
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		switch {
		case null:
			// An empty section keeps its defaults.
		case n.Kind != yaml.MappingNode:
			d.add(path, line, "must be a mapping with the keys %s; got %s", strings.Join(fieldNames(v.Type()), ", "), describeNode(n))
		default:
			d.decodeStruct(n, v, path)
		}
	case reflect.Slice:
		d.decodeSlice(n, v, path, line)
	case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Bool, reflect.Float64:
		if null {
			v.SetZero()
			return
		}
		s, ok := d.scalar(n, path, line, v.Kind())
		if !ok {
			return
		}
		d.setScalar(s, v, path, line)
	default:
		// Only reachable if a field of an unsupported type is added to Config.
		panic(fmt.Sprintf("config: cannot decode into %s at %s", v.Type(), path))
	}
}

// scalar returns n's value with environment variables expanded, reporting a
// problem when n is not a scalar.
func (d *decoder) scalar(n *yaml.Node, path string, line int, want reflect.Kind) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.add(path, line, "must be %s; got %s", kindName(want), describeNode(n))
		return "", false
	}
	s, errs := expandEnv(n.Value, d.lookup)
	for _, e := range errs {
		d.add(path, line, "%s", e)
	}
	return s, len(errs) == 0
}

func (d *decoder) setScalar(s string, v reflect.Value, path string, line int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			d.add(path, line, "must be true or false; got %q", s)
		}
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			d.add(path, line, "must be a number; got %q", s)
			return
		}
		v.SetFloat(f)
	default: // integers
		i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
		if err != nil || v.OverflowInt(i) {
			if err == nil || errors.Is(err, strconv.ErrRange) {
				d.add(path, line, "integer %s is out of range", s)
			} else {
				d.add(path, line, "must be an integer; got %q", s)
			}
			return
		}
		v.SetInt(i)
	}
}

func (d *decoder) decodeText(n *yaml.Node, v reflect.Value, path string, line int) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.add(path, line, "must be a value such as 500ms, 10s or 1m; got %s", describeNode(n))
		return
	}
	s, ok := d.scalar(n, path, line, reflect.String)
	if !ok {
		return
	}
	if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
		d.add(path, line, "%s", err.Error())
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, line int) {
	switch {
	case isNull(n):
		v.SetZero()
	case n.Kind == yaml.SequenceNode:
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.lines[p] = item.Line
			d.decode(item, s.Index(i), p)
		}
		v.Set(s)
	case n.Kind == yaml.ScalarNode && v.Type().Elem().Kind() == reflect.String:
		// "a:9092,b:9092" is accepted for a list of strings, so that a whole
		// list can come from one environment variable.
		str, ok := d.scalar(n, path, line, reflect.String)
		if !ok {
			return
		}
		var items []string
		for item := range strings.SplitSeq(str, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			d.lines[fmt.Sprintf("%s[%d]", path, i)] = line
			s.Index(i).SetString(item)
		}
		v.Set(s)
	default:
		d.add(path, line, "must be a list; got %s", describeNode(n))
	}
}

// decodeStruct decodes mapping n into struct v, reporting unknown and
// duplicate keys. Merge keys (<<: *anchor) are honoured; keys written in the
// mapping itself take precedence over merged ones.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	fields := structFields(v.Type())
	seen := map[string]int{}
	type entry struct{ key, val *yaml.Node }
	var own, merged []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			for _, m := range mergeSources(val) {
				for j := 0; j+1 < len(m.Content); j += 2 {
					merged = append(merged, entry{m.Content[j], m.Content[j+1]})
				}
			}
			if len(mergeSources(val)) == 0 {
				d.add(joinPath(path, "<<"), k.Line, "a merge key needs a mapping or a list of mappings; got %s", describeNode(resolveAlias(val)))
			}
			continue
		}
		own = append(own, entry{k, val})
	}
	ownKeys := map[string]bool{}
	for _, e := range own {
		ownKeys[e.key.Value] = true
	}
	mergedSeen := map[string]bool{}
	for _, e := range merged {
		k := e.key.Value
		if ownKeys[k] || mergedSeen[k] {
			continue // the mapping's own keys, then earlier merge sources, win
		}
		mergedSeen[k] = true
		p := joinPath(path, k)
		idx, ok := fields[k]
		if !ok {
			d.add(p, e.key.Line, "%s", unknownKeyMessage(k, fieldNames(v.Type())))
			continue
		}
		d.lines[p] = e.key.Line
		d.decode(e.val, v.Field(idx), p)
	}
	for _, e := range own {
		k := e.key
		p := joinPath(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			d.add(path, k.Line, "keys must be plain names; got %s", describeNode(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.add(p, k.Line, "duplicate key (first set on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fields[k.Value]
		if !ok {
			d.add(p, k.Line, "%s", unknownKeyMessage(k.Value, fieldNames(v.Type())))
			continue
		}
		d.lines[p] = k.Line
		d.decode(e.val, v.Field(idx), p)
	}
}

func mergeSources(n *yaml.Node) []*yaml.Node {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		return []*yaml.Node{n}
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, item := range n.Content {
			if item = resolveAlias(item); item.Kind == yaml.MappingNode {
				out = append(out, item)
			}
		}
		return out
	}
	return nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// yamlName returns the key name of a struct field, "" for fields that are not
// decoded.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name
}

func structFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			m[name] = i
		}
	}
	return m
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Float64:
		return "a number"
	default:
		return "an integer"
	}
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "an empty value"
		}
		return strconv.Quote(n.Value)
	}
	return "an unexpected YAML node"
}

// unknownKeyMessage suggests the closest valid key, or lists them all.
func unknownKeyMessage(key string, valid []string) string {
	if s := suggest(key, valid); s != "" {
		return fmt.Sprintf("unknown key (did you mean %q?)", s)
	}
	return "unknown key (valid keys here: " + strings.Join(valid, ", ") + ")"
}

func suggest(key string, valid []string) string {
	squash := func(s string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
	}
	for _, v := range valid {
		if squash(v) == squash(key) {
			return v // Address, brokerPortBase, broker-port-base
		}
	}
	best, bestDist := "", 0
	for _, v := range valid {
		dist := levenshtein(strings.ToLower(key), v)
		if best == "" || dist < bestDist {
			best, bestDist = v, dist
		}
	}
	if best != "" && bestDist <= max(2, len(best)/3) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
