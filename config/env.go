package config

import (
	"fmt"
	"strings"
)

// LookupFunc returns the value of an environment variable and whether it is
// set, like os.LookupEnv.
type LookupFunc func(name string) (string, bool)

// expandEnv expands references to environment variables in one scalar value:
//
//	${NAME}          the value of NAME; a problem if NAME is not set
//	${NAME:-default} the value of NAME, or default when NAME is unset or empty
//	$$               a literal $
//
// A $ followed by anything else is kept as it is, so "pa$word" needs no
// escaping; "$${" is how to write a literal "${".
//
// It returns the expanded value and one message per bad reference; the
// caller attaches the key path and line. Expansion is applied to decoded
// scalar values, never to raw text, so a value cannot inject YAML structure.
func expandEnv(s string, lookup LookupFunc) (string, []string) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var (
		b    strings.Builder
		errs []string
	)
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				errs = append(errs, `unterminated "${" (write "$$" for a literal "$")`)
				b.WriteString(s[i:])
				return b.String(), errs
			}
			expr := s[i+2 : i+2+end]
			i += 2 + end
			name, def, hasDef := strings.Cut(expr, ":-")
			if !isEnvName(name) {
				errs = append(errs, fmt.Sprintf(`invalid variable reference "${%s}" (use ${NAME} or ${NAME:-default}; write "$$" for a literal "$")`, expr))
				continue
			}
			val, ok := lookup(name)
			switch {
			case ok && (val != "" || !hasDef):
				b.WriteString(val)
			case hasDef:
				b.WriteString(def)
			default:
				errs = append(errs, fmt.Sprintf("environment variable %s is not set (use ${%s:-default} to give a fallback)", name, name))
			}
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), errs
}

// isEnvName reports whether s is a portable environment variable name:
// a letter or underscore, then letters, digits and underscores.
func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
