package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// The output formats of -o.
const (
	outputHuman = "human"
	outputJSON  = "json"
	outputYAML  = "yaml"
)

// printer writes what a command shows: tables for people, or the API's
// objects as JSON or YAML.
type printer struct {
	w      io.Writer
	format string
}

func newPrinter(w io.Writer, format string) (*printer, error) {
	switch format {
	case outputHuman, outputJSON, outputYAML:
		return &printer{w: w, format: format}, nil
	}
	return nil, fmt.Errorf("-o/--output must be human, json or yaml; got %q", format)
}

// human reports whether the output is for people.
func (p *printer) human() bool { return p.format == outputHuman }

// raw writes a JSON value as JSON or YAML. It must not be called for
// human output.
func (p *printer) raw(v json.RawMessage) error {
	if len(bytes.TrimSpace(v)) == 0 {
		v = json.RawMessage("null")
	}
	switch p.format {
	case outputJSON:
		var b bytes.Buffer
		if err := json.Indent(&b, v, "", "  "); err != nil {
			return fmt.Errorf("output: %w", err)
		}
		b.WriteByte('\n')
		_, err := p.w.Write(b.Bytes())
		return err
	case outputYAML:
		out, err := jsonToYAML(v)
		if err != nil {
			return fmt.Errorf("output: %w", err)
		}
		_, err = p.w.Write(out)
		return err
	}
	return fmt.Errorf("output: %s is not a data format", p.format)
}

// rawList writes items as one JSON or YAML array.
func (p *printer) rawList(items []json.RawMessage) error {
	return p.raw(joinJSON(items))
}

// joinJSON is the JSON array of items.
func joinJSON(items []json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// marshalRaw encodes v for raw output.
func marshalRaw(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	return b, nil
}

// jsonToYAML converts a JSON document to block-style YAML, keeping the
// order of object keys and the types of values.
func jsonToYAML(v json.RawMessage) ([]byte, error) {
	var doc yaml.Node
	// JSON is YAML: the parser keeps the keys' order and the scalars'
	// tags (a JSON string stays a string, a number a number).
	if err := yaml.Unmarshal(v, &doc); err != nil {
		return nil, err
	}
	blockStyle(&doc)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// blockStyle drops the flow and quoting styles of JSON, letting the
// encoder quote only what needs it.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// table writes a header row and rows, in columns separated by " | ".
func (p *printer) table(header []string, rows [][]string) error {
	all := append([][]string{header}, rows...)
	widths := make([]int, len(header))
	for _, r := range all {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], utf8.RuneCountInString(sanitize(c)))
			}
		}
	}
	var b strings.Builder
	for _, r := range all {
		b.WriteString("  ")
		for i := range widths {
			c := ""
			if i < len(r) {
				c = sanitize(r[i])
			}
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(c)
			if i < len(widths)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)))
			}
		}
		// A last column may be empty: no trailing blanks.
		line := strings.TrimRight(b.String(), " ")
		b.Reset()
		if _, err := io.WriteString(p.w, line+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// field is one line of a describe table.
type field struct {
	name, value string
}

// fields writes a two-column table of field names and values.
func (p *printer) fields(fs []field) error {
	rows := make([][]string, 0, len(fs))
	for _, f := range fs {
		rows = append(rows, []string{f.name, f.value})
	}
	if len(rows) == 0 {
		return nil
	}
	return p.table(rows[0], rows[1:])
}

// line writes a line of text for people.
func (p *printer) line(format string, args ...any) {
	fmt.Fprintf(p.w, format+"\n", args...)
}

// sanitize makes a value from the API safe to print on a terminal: a
// control character (a newline, an escape sequence) is shown escaped.
func sanitize(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r <= 0xff && unsafeRune(r):
			fmt.Fprintf(&b, "\\x%02x", r)
		case unsafeRune(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			// An invalid byte was decoded as utf8.RuneError, which
			// prints as the replacement character.
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unsafeRune reports whether r changes how a terminal shows what follows:
// control characters and bidirectional overrides.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// timeString formats a time for a table; "" for none.
func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// timePtrString formats an optional time for a table.
func timePtrString(t *time.Time) string {
	if t == nil {
		return ""
	}
	return timeString(*t)
}

// showObject prints one object of the API: its fields for people, or the
// JSON as received.
func showObject[T any](p *printer, raw json.RawMessage, fieldsOf func(T) []field) error {
	if !p.human() {
		return p.raw(raw)
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	return p.fields(fieldsOf(v))
}

// showList prints the items of a list: a table for people, or one JSON
// array of the items as received.
func showList[T any](p *printer, items []json.RawMessage, header []string, rowOf func(T) []string) error {
	if !p.human() {
		return p.rawList(items)
	}
	vs, err := decodeAll[T](items)
	if err != nil {
		return err
	}
	rows := make([][]string, 0, len(vs))
	for _, v := range vs {
		rows = append(rows, rowOf(v))
	}
	return p.table(header, rows)
}
