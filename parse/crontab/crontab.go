// Package crontab parses crontab files as cron reads them: the system
// crontab and /etc/cron.d files (five time fields or an @nickname, a user,
// a command), user crontabs in the spool (no user field), and anacrontab
// (period, delay, job name, command). It never fails: every line is kept
// with its number and raw text, so that a fix can comment out one line and
// leave the rest byte for byte.
package crontab

import (
	"strings"
)

// Format says which kind of file the content is.
type Format int

// The formats.
const (
	System     Format = iota + 1 // /etc/crontab, /etc/cron.d/*: a user field
	User                         // /var/spool/cron{,/crontabs}/USER
	Anacrontab                   // /etc/anacrontab
)

// Kind is what a line is.
type Kind int

// The kinds of line.
const (
	Blank Kind = iota
	Comment
	Env     // NAME=value
	Job     // a schedule and a command
	Invalid // something cron rejects
)

// Line is one line of a crontab.
type Line struct {
	N    int
	Raw  string
	Kind Kind
	// Schedule is the five time fields or the @nickname (for anacrontab,
	// "period delay"); User the user field of system crontabs; Name the
	// job name of anacrontab.
	Schedule string
	User     string
	Name     string
	// Command is the command up to the first unescaped %, with \% made
	// %: what cron hands to the shell. Input is what follows that %
	// (cron gives it to the command on standard input, % as newlines).
	Command string
	Input   string
	// EnvName and EnvValue are set for Env lines.
	EnvName, EnvValue string
}

// File is a parsed crontab.
type File struct {
	Lines []Line
}

// Jobs returns the job lines.
func (f *File) Jobs() []Line {
	var out []Line
	for _, l := range f.Lines {
		if l.Kind == Job {
			out = append(out, l)
		}
	}
	return out
}

// Env returns the value the file's last NAME= line before line n gives a
// variable, and whether it sets it.
func (f *File) Env(name string, before int) (string, bool) {
	v, ok := "", false
	for _, l := range f.Lines {
		if l.N >= before {
			break
		}
		if l.Kind == Env && l.EnvName == name {
			v, ok = l.EnvValue, true
		}
	}
	return v, ok
}

var nicknames = map[string]bool{
	"@reboot": true, "@yearly": true, "@annually": true, "@monthly": true, "@weekly": true,
	"@daily": true, "@midnight": true, "@hourly": true,
}

// Parse parses crontab content of the given format.
func Parse(data []byte, format Format) *File {
	f := &File{}
	text := string(data)
	text = strings.TrimSuffix(text, "\n")
	if text == "" && len(data) == 0 {
		return f
	}
	for i, raw := range strings.Split(text, "\n") {
		f.Lines = append(f.Lines, parseLine(i+1, raw, format))
	}
	return f
}

func parseLine(n int, raw string, format Format) Line {
	l := Line{N: n, Raw: raw}
	s := strings.TrimRight(raw, "\r")
	t := strings.TrimLeft(s, " \t")
	switch {
	case t == "":
		return l
	case t[0] == '#':
		l.Kind = Comment
		return l
	}
	if name, value, ok := envLine(t); ok {
		l.Kind, l.EnvName, l.EnvValue = Env, name, value
		return l
	}
	fields, rest := splitFields(t, scheduleFields(t, format))
	if fields == nil {
		l.Kind = Invalid
		return l
	}
	switch format {
	case Anacrontab:
		l.Schedule, l.Name = fields[0]+" "+fields[1], fields[2]
	case System:
		l.Schedule = strings.Join(fields[:len(fields)-1], " ")
		l.User = fields[len(fields)-1]
	default:
		l.Schedule = strings.Join(fields, " ")
	}
	if strings.TrimSpace(rest) == "" {
		l.Kind = Invalid
		return l
	}
	l.Command, l.Input = splitPercent(rest)
	l.Kind = Job
	if strings.TrimSpace(l.Command) == "" {
		l.Kind = Invalid // cron would run nothing
	}
	return l
}

// scheduleFields is the number of fields before the command.
func scheduleFields(t string, format Format) int {
	n := 5
	if nicknames[strings.ToLower(firstField(t))] {
		n = 1
	}
	switch format {
	case System:
		n++
	case Anacrontab:
		n = 3
	}
	return n
}

func firstField(t string) string {
	if i := strings.IndexAny(t, " \t"); i >= 0 {
		return t[:i]
	}
	return t
}

// envLine recognises NAME = value (spaces around = allowed, value
// optionally quoted), as cron's load_env does.
func envLine(t string) (string, string, bool) {
	eq := strings.IndexByte(t, '=')
	if eq <= 0 {
		return "", "", false
	}
	name := strings.TrimSpace(t[:eq])
	if name == "" || strings.ContainsAny(name, " \t") {
		return "", "", false
	}
	for _, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return "", "", false
		}
	}
	v := strings.TrimSpace(t[eq+1:])
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		v = v[1 : len(v)-1]
	}
	return name, v, true
}

// splitFields takes n blank-separated fields off the front of t and
// returns them with the rest; nil when there are fewer.
func splitFields(t string, n int) ([]string, string) {
	var out []string
	rest := t
	for len(out) < n {
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			return nil, ""
		}
		i := strings.IndexAny(rest, " \t")
		if i < 0 {
			out = append(out, rest)
			rest = ""
			continue
		}
		out = append(out, rest[:i])
		rest = rest[i:]
	}
	return out, strings.TrimLeft(rest, " \t")
}

// splitPercent splits a command at its first unescaped %, and turns \%
// into % in the command part.
func splitPercent(s string) (cmd, input string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '%':
			b.WriteByte('%')
			i++
		case s[i] == '%':
			return b.String(), strings.ReplaceAll(s[i+1:], "%", "\n")
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), ""
}
