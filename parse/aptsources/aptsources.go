// Package aptsources reads apt's repository lists: the one-line format of
// /etc/apt/sources.list and sources.list.d/*.list, and the deb822 format of
// sources.list.d/*.sources (sources.list(5)).
package aptsources

import (
	"fmt"
	"strings"
)

// Source is one repository entry: for the one-line format a line, for
// deb822 a paragraph (which may name several URIs and suites).
type Source struct {
	Types      []string // "deb", "deb-src"
	URIs       []string
	Suites     []string // a suite ending in "/" is a flat repository path
	Components []string
	// Options are the entry's options by lower-case name: "arch",
	// "signed-by", "trusted", … For deb822 these are its other fields
	// ("architectures" is given as "arch" too). Multi-valued options keep
	// their raw text.
	Options map[string]string
	Enabled bool
	Line    int // where the entry starts
}

// Flat reports whether suite names a flat repository (no dists/ tree).
func Flat(suite string) bool { return strings.HasSuffix(suite, "/") }

// SignedBy lists the entry's Signed-By keyring files or fingerprints; an
// inline ASCII-armored key block (deb822) is returned as one element.
func (s Source) SignedBy() []string {
	v := strings.TrimSpace(s.Options["signed-by"])
	if v == "" {
		return nil
	}
	if strings.Contains(v, "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
		return []string{v}
	}
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// Archs lists the architectures the entry is limited to, or nil.
func (s Source) Archs() []string {
	return strings.FieldsFunc(s.Options["arch"], func(r rune) bool { return r == ',' || r == ' ' })
}

// ParseList reads the one-line format:
//
//	deb [ arch=amd64 signed-by=/usr/share/keyrings/k.gpg ] http://h/debian bookworm main contrib
//
// Comments and blank lines are skipped; a malformed line is reported and
// skipped, so one bad line does not hide the others.
func ParseList(data []byte) ([]Source, []error) {
	var out []Source
	var problems []error
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(strings.TrimRight(line, "\r"))
		if line == "" {
			continue
		}
		s := Source{Options: map[string]string{}, Enabled: true, Line: n}
		typ, rest, _ := strings.Cut(line, " ")
		typ, rest = strings.TrimSpace(typ), strings.TrimSpace(rest)
		if t, r, ok := strings.Cut(typ, "\t"); ok {
			typ, rest = t, strings.TrimSpace(r+" "+rest)
		}
		if typ != "deb" && typ != "deb-src" {
			problems = append(problems, fmt.Errorf("line %d: unknown type %q", n, typ))
			continue
		}
		s.Types = []string{typ}
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				problems = append(problems, fmt.Errorf("line %d: options without a closing ]", n))
				continue
			}
			for _, o := range strings.Fields(rest[1:end]) {
				k, v, ok := strings.Cut(o, "=")
				if !ok {
					problems = append(problems, fmt.Errorf("line %d: option %q has no value", n, o))
					continue
				}
				k = strings.ToLower(strings.TrimRight(k, "+-"))
				s.Options[k] = v
			}
			rest = rest[end+1:]
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			problems = append(problems, fmt.Errorf("line %d: want URI SUITE [COMPONENT...]", n))
			continue
		}
		s.URIs, s.Suites, s.Components = []string{f[0]}, []string{f[1]}, f[2:]
		if !Flat(f[1]) && len(s.Components) == 0 {
			problems = append(problems, fmt.Errorf("line %d: suite %s needs at least one component", n, f[1]))
			continue
		}
		out = append(out, s)
	}
	return out, problems
}

// ParseDeb822 reads the deb822 format: paragraphs of fields separated by
// blank lines, continuation lines starting with white space (a lone "."
// is an empty line inside a value), "#" comments.
func ParseDeb822(data []byte) ([]Source, []error) {
	var out []Source
	var problems []error
	var cur map[string]string
	var last string
	start := 0
	flush := func() {
		if cur == nil {
			return
		}
		s := Source{Options: map[string]string{}, Enabled: true, Line: start}
		for k, v := range cur {
			switch k {
			case "types":
				s.Types = strings.Fields(v)
			case "uris":
				s.URIs = strings.Fields(v)
			case "suites":
				s.Suites = strings.Fields(v)
			case "components":
				s.Components = strings.Fields(v)
			case "enabled":
				s.Enabled = !strings.EqualFold(strings.TrimSpace(v), "no")
			case "architectures":
				s.Options["arch"] = strings.Join(strings.Fields(v), ",")
			default:
				s.Options[k] = v
			}
		}
		switch {
		case len(s.Types) == 0 || len(s.URIs) == 0 || len(s.Suites) == 0:
			problems = append(problems, fmt.Errorf("paragraph at line %d: Types, URIs and Suites are required", start))
		default:
			out = append(out, s)
		}
		cur = nil
	}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimRight(line, "\r")
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur == nil || last == "" {
				problems = append(problems, fmt.Errorf("line %d: continuation line outside a field", n))
				continue
			}
			v := strings.TrimSpace(line)
			if v == "." {
				v = ""
			}
			cur[last] += "\n" + v
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			problems = append(problems, fmt.Errorf("line %d: want Field: value", n))
			continue
		}
		if cur == nil {
			cur, start = map[string]string{}, n
		}
		last = strings.ToLower(strings.TrimSpace(k))
		cur[last] = strings.TrimSpace(v)
	}
	flush()
	return out, problems
}
