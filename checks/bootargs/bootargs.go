// Package bootargs reads and edits the kernel command lines of a target's
// boot loader files, wherever they are kept: grub.cfg linux lines, BLS
// entries' options, grubenv's kernelopts (re-encoded at its block size) and
// /etc/default/grub. The selinux check and the operator actions share it.
package bootargs

import (
	"fmt"
	"regexp"
	"strings"

	"rescue/checks"
	"rescue/parse/grubenv"
	"rescue/sysroot"
)

// Line is one kernel command line found in a boot loader file.
type Line struct {
	Path string
	Line int
	Args []string
}

// Set is every kernel command line of the boot loader files, and how to
// find them again in each file.
type Set struct {
	Lines []Line
	// patterns maps each file to the expression matching its kernel
	// lines and the group holding the arguments.
	patterns map[string]linePattern
}

type linePattern struct {
	re    *regexp.Regexp
	group int
}

// files lists the files that hold kernel command lines, in reading order.
func (b *Set) Files() []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range b.Lines {
		if !seen[l.Path] {
			seen[l.Path] = true
			out = append(out, l.Path)
		}
	}
	return out
}

// Rewrite applies edit to every argument of every kernel line of the file
// at p and returns the new content and the number of arguments changed. A
// grubenv block is re-encoded at its own size (GRUB refuses a block of any
// other size); other files change only the edited words.
func (b *Set) Rewrite(p string, data []byte, edit func(string) (string, bool)) ([]byte, int, error) {
	if strings.HasSuffix(p, "/grubenv") {
		env, err := grubenv.Parse(data)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", p, err)
		}
		opts, ok := env.Get("kernelopts")
		if !ok {
			return data, 0, nil
		}
		args, n := EditArgs(opts, edit)
		if n == 0 {
			return data, 0, nil
		}
		out, err := env.With("kernelopts", args).Encode()
		return out, n, err
	}
	pat := b.patterns[p]
	lines, nl := checks.Lines(data)
	total := 0
	for i, l := range lines {
		m := pat.re.FindStringSubmatchIndex(l)
		if m == nil {
			continue
		}
		start, end := m[2*pat.group], m[2*pat.group+1]
		args, n := EditArgs(l[start:end], edit)
		if n > 0 {
			lines[i] = l[:start] + args + l[end:]
			total += n
		}
	}
	return checks.JoinLines(lines, nl), total, nil
}

// EditArgs edits the whitespace-separated words of a command line; quotes
// around a word (GRUB_CMDLINE_LINUX="… selinux=1") stay where they are. A
// removed word takes one neighbouring space with it.
func EditArgs(s string, edit func(string) (string, bool)) (string, int) {
	var out strings.Builder
	n := 0
	i := 0
	for i < len(s) {
		if s[i] == ' ' || s[i] == '\t' {
			out.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		word := s[i:j]
		core := strings.Trim(word, `"'`)
		lead := word[:strings.Index(word, core)]
		trail := word[len(lead)+len(core):]
		if core != "" {
			if r, ok := edit(core); ok {
				n++
				if r == "" {
					// Drop the word and one space: the one before it
					// when there is one, else the one after it.
					cur := out.String()
					if strings.HasSuffix(cur, " ") || strings.HasSuffix(cur, "\t") {
						out.Reset()
						out.WriteString(cur[:len(cur)-1])
					} else if j < len(s) && lead == "" {
						j++
					}
					out.WriteString(lead + trail)
				} else {
					out.WriteString(lead + r + trail)
				}
				i = j
				continue
			}
		}
		out.WriteString(word)
		i = j
	}
	return out.String(), n
}

// Has returns the lines that carry arg.
func (b *Set) Has(arg string) []Line {
	var out []Line
	for _, l := range b.Lines {
		for _, a := range l.Args {
			if a == arg {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

var grubKernelLine = regexp.MustCompile(`^\s*(linux|linux16|linuxefi|kernel)\s+(.*)$`)
var defaultGrubLine = regexp.MustCompile(`^\s*(GRUB_CMDLINE_LINUX(_DEFAULT)?)=(.*)$`)
var kerneloptsLine = regexp.MustCompile(`^kernelopts=(.*)$`)
var blsOptionsLine = regexp.MustCompile(`^\s*options\s+(.*)$`)

// Read collects the kernel command lines of the boot loader files: GRUB 2
// and legacy GRUB configurations (also on the ESP), BLS entries, grubenv's
// kernelopts and /etc/default/grub's GRUB_CMDLINE_LINUX(_DEFAULT).
func Read(root *sysroot.Root) *Set {
	b := &Set{patterns: map[string]linePattern{}}
	add := func(p string, re *regexp.Regexp, group int) {
		b.patterns[p] = linePattern{re, group}
		data, err := root.ReadFileLimit(p, 8<<20)
		if err != nil {
			return
		}
		lines, _ := checks.Lines(data)
		for i, l := range lines {
			m := re.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			args := strings.Fields(strings.Trim(m[group], `"'`))
			b.Lines = append(b.Lines, Line{Path: p, Line: i + 1, Args: args})
		}
	}
	for _, p := range []string{"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/boot/grub/menu.lst", "/boot/grub/grub.conf"} {
		add(p, grubKernelLine, 2)
	}
	if efi, err := root.Glob("/boot/efi/EFI/*/grub.cfg"); err == nil {
		for _, p := range efi {
			add(p, grubKernelLine, 2)
		}
	}
	if bls, err := root.Glob("/boot/loader/entries/*.conf"); err == nil {
		for _, p := range bls {
			add(p, blsOptionsLine, 1)
		}
	}
	for _, p := range []string{"/boot/grub2/grubenv", "/boot/grub/grubenv"} {
		add(p, kerneloptsLine, 1)
	}
	add("/etc/default/grub", defaultGrubLine, 3)
	return b
}

// Append adds, at the end of every kernel command line of the file at p,
// the arguments add returns for it (none: the line is left alone), and
// returns the new content and the number of lines changed. In
// /etc/default/grub only GRUB_CMDLINE_LINUX gets them
// (GRUB_CMDLINE_LINUX_DEFAULT is left out of recovery entries), and the
// line is added when the file has none. A grubenv block is re-encoded at
// its own size.
func (b *Set) Append(p string, data []byte, add func(lineArgs []string) []string) ([]byte, int, error) {
	if strings.HasSuffix(p, "/grubenv") {
		env, err := grubenv.Parse(data)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", p, err)
		}
		opts, ok := env.Get("kernelopts")
		if !ok {
			return data, 0, nil
		}
		more := add(strings.Fields(opts))
		if len(more) == 0 {
			return data, 0, nil
		}
		out, err := env.With("kernelopts", strings.TrimSpace(opts+" "+strings.Join(more, " "))).Encode()
		return out, 1, err
	}
	pat, ok := b.patterns[p]
	if !ok {
		return data, 0, nil
	}
	defaultGrub := p == "/etc/default/grub"
	lines, nl := checks.Lines(data)
	n, seen := 0, false
	for i, l := range lines {
		m := pat.re.FindStringSubmatchIndex(l)
		if m == nil {
			continue
		}
		if defaultGrub && l[m[2]:m[3]] != "GRUB_CMDLINE_LINUX" {
			continue
		}
		seen = true
		start, end := m[2*pat.group], m[2*pat.group+1]
		val := l[start:end]
		more := add(strings.Fields(strings.Trim(val, `"'`)))
		if len(more) == 0 {
			continue
		}
		extra := strings.Join(more, " ")
		var nv string
		if q := len(val); q >= 2 && (val[q-1] == '"' || val[q-1] == '\'') && val[0] == val[q-1] {
			inner := val[1 : q-1]
			if strings.TrimSpace(inner) != "" {
				inner = strings.TrimRight(inner, " \t") + " "
			}
			nv = val[:1] + inner + extra + val[q-1:]
		} else {
			nv = strings.TrimRight(val, " \t") + " " + extra
		}
		lines[i] = l[:start] + nv + l[end:]
		n++
	}
	if defaultGrub && !seen {
		if more := add(nil); len(more) > 0 {
			lines = append(lines, fmt.Sprintf("GRUB_CMDLINE_LINUX=%q", strings.Join(more, " ")))
			n++
		}
	}
	return checks.JoinLines(lines, nl), n, nil
}
