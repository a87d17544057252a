package planfile

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The plan is written by this small emitter rather than by yaml.Marshal because libyaml refuses
// literal blocks for text with a space before a line break, which every unified diff with a blank
// context line has: yaml.Marshal would turn the reviewed diff into one long double-quoted line.
// A literal block holds such text exactly, and Parse proves it: it decodes with yaml.v3 and
// requires the re-emitted bytes to equal the file.

// emitter writes the canonical YAML form of a plan.
type emitter struct{ b bytes.Buffer }

// key writes `key: value` at indent (spaces), choosing the most readable form that holds s exactly.
func (e *emitter) key(indent int, k, s string) {
	e.b.WriteString(strings.Repeat(" ", indent))
	e.b.WriteString(k)
	e.b.WriteString(":")
	e.b.WriteString(text(indent, s))
}

// raw writes `key: v` with v already YAML (booleans, `[]`).
func (e *emitter) raw(indent int, k, v string) {
	fmt.Fprintf(&e.b, "%s%s: %s\n", strings.Repeat(" ", indent), k, v)
}

// list writes a sequence of one-line scalars, or `[]`.
func (e *emitter) list(indent int, k string, items []string) {
	if len(items) == 0 {
		e.raw(indent, k, "[]")
		return
	}
	fmt.Fprintf(&e.b, "%s%s:\n", strings.Repeat(" ", indent), k)
	for _, it := range items {
		fmt.Fprintf(&e.b, "%s  - %s\n", strings.Repeat(" ", indent), scalar(it))
	}
}

// inputs writes the recorded inputs, values in name order.
func (e *emitter) inputs(in *Inputs) {
	e.b.WriteString("inputs:\n")
	e.key(2, "controller_name", in.ControllerName)
	if in.EndpointsController {
		e.raw(2, "endpoints_controller", "true")
	}
	if len(in.Values) == 0 {
		e.raw(2, "values", "{}")
		return
	}
	e.b.WriteString("  values:\n")
	for _, k := range slices.Sorted(maps.Keys(in.Values)) {
		switch v := in.Values[k].(type) {
		case string:
			e.key(4, k, v)
		case bool:
			e.raw(4, k, boolText(v))
		case []string:
			e.list(4, k, v)
		}
	}
}

func boolText(v bool) string {
	if v {
		return "true"
	}
	return "false"
}

// text renders a value (with its leading space and trailing newline) for a key at indent: a literal
// block for multi-line text, !!binary for bytes that are not UTF-8, else a one-line scalar.
func text(indent int, s string) string {
	if !utf8.ValidString(s) {
		return " !!binary |\n" + base64Lines(indent+2, s)
	}
	if strings.Contains(s, "\n") && blockable(s) {
		if roundTrips(s) {
			return block(indent, s)
		}
	}
	return " " + scalar(s) + "\n"
}

// plainRE is what may stay unquoted; yaml itself then decides (see scalar).
var plainRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9/][A-Za-z0-9/._+-]*$`) })

// scalar renders s on one line: plain when YAML reads it back as that same string (paths, names,
// hex digests), else double-quoted, or !!binary for bytes that are not UTF-8.
func scalar(s string) string {
	if !utf8.ValidString(s) {
		return "!!binary " + base64.StdEncoding.EncodeToString([]byte(s))
	}
	if plainRE().MatchString(s) {
		var v any
		if err := yaml.Unmarshal([]byte(s), &v); err == nil {
			if got, ok := v.(string); ok && got == s {
				return s
			}
		}
	}
	return quote(s)
}

// quote writes a YAML double-quoted scalar, escaping everything YAML would otherwise read as a line
// break (NEL and the Unicode separators included) or not accept as printable.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r >= 0x20 && r <= 0x7e, printable(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// printable reports whether a non-ASCII rune may stand for itself in YAML text.
func printable(r rune) bool {
	return r >= 0xa0 && r <= 0xd7ff && r != 0x2028 && r != 0x2029 ||
		r >= 0xe000 && r <= 0xfffd && r != 0xfeff ||
		r >= 0x10000 && r <= 0x10ffff
}

// blockable reports whether every character may appear in a YAML literal block as itself, and the
// text has something other than white space to anchor the block's indentation.
func blockable(s string) bool {
	content := false
	for _, r := range s {
		switch {
		case r == '\n' || r == ' ' || r == '\t':
		case r >= 0x21 && r <= 0x7e:
			content = true
		case printable(r):
			content = true
		default:
			// CR, other control characters, NEL and the Unicode line separators: YAML would
			// normalise or reject them in a block.
			return false
		}
	}
	return content
}

// block renders s as a literal block scalar whose lines sit two spaces deeper than the key. The
// chomping indicator keeps the exact number of final newlines; an explicit indentation indicator is
// added when the first line would otherwise mislead YAML's indentation detection.
func block(indent int, s string) string {
	body := strings.TrimRight(s, "\n")
	trailing := len(s) - len(body)
	var b strings.Builder
	b.WriteString(" |")
	if body == "" || body[0] == ' ' || body[0] == '\t' || body[0] == '\n' {
		b.WriteString("2")
	}
	switch {
	case trailing == 0:
		b.WriteString("-")
	case trailing > 1:
		b.WriteString("+")
	}
	b.WriteString("\n")
	pad := strings.Repeat(" ", indent+2)
	for _, l := range strings.Split(body, "\n") {
		if l != "" {
			b.WriteString(pad)
			b.WriteString(l)
		}
		b.WriteString("\n")
	}
	for i := 1; i < trailing; i++ {
		b.WriteString("\n")
	}
	return b.String()
}

// roundTrips checks a block rendered at the top level with yaml.v3 itself, so a corner of the block
// rules this emitter gets wrong costs readability (a quoted string), never correctness. Block scalars
// are read relative to their key's indentation, so the top-level form stands for every depth; Marshal
// re-reads the whole file anyway.
func roundTrips(s string) bool {
	var v struct {
		V string `yaml:"v"`
	}
	if err := yaml.Unmarshal([]byte("v:"+block(0, s)), &v); err != nil {
		return false
	}
	return v.V == s
}

// base64Lines wraps bytes as base64 lines of 76 characters at indent.
func base64Lines(indent int, s string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	var b strings.Builder
	pad := strings.Repeat(" ", indent)
	for len(enc) > 76 {
		b.WriteString(pad + enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(pad + enc + "\n")
	return b.String()
}
