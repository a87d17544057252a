package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/yamledit"
)

// This file reads the command line kcm really gets from the container's command and args: the kubelet
// first expands $(VAR) references from the container's env, and a shell wrapper (sh -c SCRIPT) then
// splits its script into kcm's argv.

// envVar is one name of the container's env as the kubelet resolves it for $(VAR).
type envVar struct {
	val   string     // the value, when known
	why   string     // why the value cannot be known here; "" when it is known
	value *yaml.Node // the literal value scalar, for an edit
	defs  int        // how many env entries set the name
}

// environment is the container's env: only literal values are known here; values from ConfigMaps,
// Secrets, the downward API, envFrom or the service links the kubelet adds are not.
type environment struct {
	vars    map[string]*envVar
	envFrom bool
	refs    map[string]int // $(VAR) references in env values, by name
}

// readEnv resolves env as the kubelet's makeEnvironmentVariables does: entries in order, each literal
// value expanded from the entries before it, the last entry of a name winning.
func readEnv(c *yaml.Node) (*environment, error) {
	e := &environment{vars: map[string]*envVar{}, refs: map[string]int{}}
	if ef := field(c, "envFrom"); ef != nil && ef.Kind == yaml.SequenceNode && len(ef.Content) > 0 {
		e.envFrom = true
	}
	env := field(c, "env")
	if env == nil || yamledit.IsNull(env) {
		return e, nil
	}
	if env.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("container %s: env is not a list", ContainerName)
	}
	for i, it := range env.Content {
		if it.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("container %s: env[%d] is not a mapping", ContainerName, i)
		}
		name := scalarField(it, "name")
		v := &envVar{}
		if old := e.vars[name]; old != nil {
			v.defs = old.defs
		}
		v.defs++
		value, from := field(it, "value"), field(it, "valueFrom")
		switch {
		case value != nil && value.Kind == yaml.ScalarNode && value.Value != "":
			var unknown []string
			v.val, unknown = expand(value.Value, e.lookup, e.refs)
			v.value = value
			if len(unknown) > 0 {
				v.why = fmt.Sprintf("its value refers to $(%s), %s", unknown[0], e.whyUnknown(unknown[0]))
			}
		case from != nil && !yamledit.IsNull(from):
			v.why = "it comes from " + source(from)
		case value != nil && value.Kind != yaml.ScalarNode:
			return nil, fmt.Errorf("container %s: env[%d].value is not a string", ContainerName, i)
		default:
			v.value = value
		}
		e.vars[name] = v
	}
	return e, nil
}

// Expanded returns s as the kubelet passes it to the container c: $(VAR) references replaced from the
// container's literal env values. known is false when a reference's value cannot be known here (a
// ConfigMap, a Secret, the downward API, envFrom, an unset name) or c's env is malformed.
func Expanded(c *yaml.Node, s string) (v string, known bool) {
	env, err := readEnv(c)
	if err != nil {
		return s, false
	}
	v, unknown := expand(s, env.lookup, nil)
	return v, len(unknown) == 0
}

// source names where a valueFrom takes its value.
func source(from *yaml.Node) string {
	for _, k := range []struct{ key, what string }{
		{"configMapKeyRef", "a ConfigMap (valueFrom.configMapKeyRef)"},
		{"secretKeyRef", "a Secret (valueFrom.secretKeyRef)"},
		{"fieldRef", "the downward API (valueFrom.fieldRef)"},
		{"resourceFieldRef", "the container's resources (valueFrom.resourceFieldRef)"},
		{"fileKeyRef", "a file (valueFrom.fileKeyRef)"},
	} {
		if field(from, k.key) != nil {
			return k.what
		}
	}
	return "valueFrom"
}

// lookup is the kubelet's mapping for a name: its value and whether that value is known.
func (e *environment) lookup(name string) (string, bool) {
	v := e.vars[name]
	if v == nil || v.why != "" {
		return "", false
	}
	return v.val, true
}

func (e *environment) whyUnknown(name string) string {
	switch v := e.vars[name]; {
	case v != nil && v.why != "":
		return name + " is not known: " + v.why
	case e.envFrom:
		return name + " may come from the container's envFrom"
	}
	// The kubelet would leave "$(NAME)" as written unless a service link sets NAME.
	return name + " is not set in the container's env"
}

// expand is the kubelet's expansion (k8s.io/kubernetes third_party/forked/golang/expansion.Expand):
// "$(NAME)" is replaced by NAME's value, "$$" is "$", any other "$" stays, and an unterminated "$("
// stays as written. It also returns the names whose value is not known (left as "$(NAME)") and counts
// every reference in refs.
func expand(input string, lookup func(string) (string, bool), refs map[string]int) (string, []string) {
	var buf bytes.Buffer
	var unknown []string
	checkpoint := 0
	for cursor := 0; cursor < len(input); cursor++ {
		if input[cursor] != '$' || cursor+1 >= len(input) {
			continue
		}
		buf.WriteString(input[checkpoint:cursor])
		rest := input[cursor+1:]
		r, size := utf8.DecodeRuneInString(rest)
		advance := size
		switch r {
		case '$':
			buf.WriteByte('$')
		case '(':
			end := strings.IndexByte(rest[1:], ')')
			if end < 0 {
				buf.WriteString("$(")
				advance = 1
				break
			}
			name := rest[1 : 1+end]
			advance = end + 2
			if refs != nil {
				refs[name]++
			}
			if v, ok := lookup(name); ok {
				buf.WriteString(v)
			} else {
				unknown = append(unknown, name)
				buf.WriteString("$(" + name + ")")
			}
		default:
			buf.WriteString("$" + string(r))
		}
		cursor += advance
		checkpoint = cursor + 1
	}
	return buf.String() + input[checkpoint:], unknown
}

// envRef returns NAME when s is exactly "$(NAME)".
func envRef(s string) (string, bool) {
	if !strings.HasPrefix(s, "$(") || !strings.HasSuffix(s, ")") || len(s) < 4 {
		return "", false
	}
	name := s[2 : len(s)-1]
	if strings.ContainsAny(name, "()$") {
		return "", false
	}
	return name, true
}

// couldBeFlag reports whether an item whose expansion is not known could be, or start, a
// --controllers flag: the text before its first unknown reference is a prefix of the flag or starts
// with it.
func couldBeFlag(raw string) bool {
	head, _, _ := strings.Cut(raw, "$(")
	return strings.HasPrefix(flagName+"=", head) || strings.HasPrefix(head, flagName)
}

// shells are the programs whose "-c SCRIPT" mirrorctl reads.
var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "ash": true}

// isShell reports a command line that starts a shell.
func isShell(argv []string) bool {
	return len(argv) > 0 && shells[path.Base(argv[0])]
}

// script is kcm's command line inside a shell's -c script. mirrorctl reads exactly one form:
//
//	[blanks] exec WORD... [blanks]
//
// on one line: "exec" and then kcm's argv as words separated by spaces or tabs, with leading and trailing
// white space (line breaks included) allowed. A word is made of the characters A-Z a-z 0-9 _ - . / : = ,
// + @ % and of quoted parts: '...' (anything but "'", taken literally) or "..." (anything but " $ ` \).
// Everything else is refused: "$" (variables, the kubelet's $(VAR)), "`", "\", an unquoted
// ; & | < > ( ) { } [ ] * ? ~ # ! ^, a line break between words, exec's own options, and words after
// the shell's script (they are $0, $1…, which a script of plain words never reads).
type script struct {
	node  *yaml.Node // the scalar holding the script
	flow  bool       // the scalar sits in a flow list
	words []word     // kcm's argv: the words after exec
}

type word struct {
	start, end int    // byte span in the script
	text       string // the word after quote removal
}

const shellSafe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=,+@%"

// readScript splits a -c script of the accepted form into its words after exec.
func readScript(s string) ([]word, error) {
	if i := strings.IndexAny(s, "$`\\"); i >= 0 {
		return nil, fmt.Errorf("uses %q (expansion or escapes)", s[i])
	}
	var words []word
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
			continue
		case c == '\n' || c == '\r':
			if len(words) > 0 && strings.TrimSpace(s[i:]) != "" {
				return nil, errors.New("holds more than one line")
			}
			i++
			continue
		}
		w := word{start: i}
		var text strings.Builder
		for i < len(s) && !strings.ContainsRune(" \t\r\n", rune(s[i])) {
			switch c := s[i]; {
			case c == '\'' || c == '"':
				end := strings.IndexByte(s[i+1:], c)
				if end < 0 {
					return nil, fmt.Errorf("has an unterminated %c quote", c)
				}
				q := s[i+1 : i+1+end]
				if c == '"' && strings.ContainsAny(q, "\n") {
					return nil, errors.New("has a quoted word that spans lines")
				}
				text.WriteString(q)
				i += end + 2
			case strings.IndexByte(shellSafe, c) >= 0:
				text.WriteByte(c)
				i++
			default:
				return nil, fmt.Errorf("uses %q outside quotes", c)
			}
		}
		w.end, w.text = i, text.String()
		words = append(words, w)
	}
	if len(words) == 0 || s[words[0].start:words[0].end] != "exec" {
		return nil, errors.New("does not start with exec")
	}
	if len(words) < 2 {
		return nil, errors.New("runs exec without a command")
	}
	if strings.HasPrefix(words[1].text, "-") {
		return nil, errors.New("gives exec options")
	}
	return words[1:], nil
}

// spell writes text as one shell word of the accepted form.
func spell(text string) (string, error) {
	if text != "" && strings.Trim(text, shellSafe) == "" {
		return text, nil
	}
	if strings.ContainsAny(text, "'\n\r") {
		return "", fmt.Errorf("cannot write %q as a word of the shell script", text)
	}
	return "'" + text + "'", nil
}

// scriptSplice rewrites the script for the planned --controllers lists: each changed occurrence is
// rewritten in place (an emptied one removed with the blanks before it), or, with none, the flag is
// appended after the last word (before a "--" word).
func (m *Manifest) scriptSplice(planned [][]string) (yamledit.Splice, error) {
	s := m.script.node.Value
	type change struct {
		start, end int
		text       string
	}
	var changes []change
	if len(m.flags) == 0 {
		w, err := spell(flagName + "=" + controllers.Join(planned[0]))
		if err != nil {
			return yamledit.Splice{}, err
		}
		// Never after a "--" word: kcm reads what follows it as arguments, not flags.
		if i := slices.IndexFunc(m.script.words[1:], func(w word) bool { return w.text == "--" }); i >= 0 {
			start := m.script.words[1+i].start
			changes = append(changes, change{start, start, w + " "})
		} else {
			end := m.script.words[len(m.script.words)-1].end
			changes = append(changes, change{end, end, " " + w})
		}
	}
	for i, o := range m.flags {
		if i >= len(planned) || equal(planned[i], o.Entries) {
			continue
		}
		first, last := m.script.words[o.Flag], m.script.words[o.Value]
		if len(planned[i]) == 0 {
			start := first.start
			for start > 0 && (s[start-1] == ' ' || s[start-1] == '\t') {
				start--
			}
			changes = append(changes, change{start, last.end, ""})
			continue
		}
		value := controllers.Join(planned[i])
		if o.OneToken() {
			w, err := spell(flagName + "=" + value)
			if err != nil {
				return yamledit.Splice{}, err
			}
			changes = append(changes, change{first.start, first.end, w})
			continue
		}
		w, err := spell(value)
		if err != nil {
			return yamledit.Splice{}, err
		}
		changes = append(changes, change{last.start, last.end, w})
	}
	for i := len(changes) - 1; i >= 0; i-- {
		c := changes[i]
		s = s[:c.start] + c.text + s[c.end:]
	}
	return m.file.SetScalar(m.script.node, s, m.script.flow)
}
