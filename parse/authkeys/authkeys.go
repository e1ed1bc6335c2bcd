// Package authkeys parses OpenSSH authorized_keys files (sshd(8),
// "AUTHORIZED_KEYS FILE FORMAT"): one key per line, with optional
// comma-separated options before the key type (quoted values may hold
// commas and spaces), and a comment after the key. It never fails: a line
// sshd would skip is kept as a bad line, and every line keeps its number
// so that a fix can comment out one key.
package authkeys

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Key is one key line.
type Key struct {
	Line    int
	Raw     string
	Options []Option
	Type    string
	Blob    string // the base64 key
	Comment string
}

// Option is one option: command="…", no-pty, from="…", ….
type Option struct {
	Name  string
	Value string // unquoted; "" for a flag
}

// File is a parsed authorized_keys file.
type File struct {
	Keys []Key
	// Bad are lines that are neither keys, comments nor blank.
	Bad []int
}

// Option returns the value of the named option (case-insensitive, as
// sshd compares them) and whether the key has it.
func (k Key) Option(name string) (string, bool) {
	for _, o := range k.Options {
		if strings.EqualFold(o.Name, name) {
			return o.Value, true
		}
	}
	return "", false
}

// Fingerprint is the key's SHA256 fingerprint as ssh-keygen -l prints it,
// or "" when the key is not valid base64.
func (k Key) Fingerprint() string {
	b, err := base64.StdEncoding.DecodeString(k.Blob)
	if err != nil || len(b) == 0 {
		return ""
	}
	h := sha256.Sum256(b)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(h[:])
}

// IsKeyType says whether s names a public key type sshd knows.
func IsKeyType(s string) bool {
	switch s {
	case "ssh-rsa", "ssh-dss", "ssh-ed25519", "ssh-ed448", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
		"sk-ecdsa-sha2-nistp256@openssh.com", "sk-ssh-ed25519@openssh.com":
		return true
	}
	return strings.HasSuffix(s, "-cert-v01@openssh.com")
}

// Parse parses authorized_keys content.
func Parse(data []byte) *File {
	f := &File{}
	for i, raw := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		n := i + 1
		s := strings.TrimLeft(strings.TrimRight(raw, "\r"), " \t")
		if s == "" || s[0] == '#' {
			continue
		}
		k, ok := parseLine(s)
		if !ok {
			f.Bad = append(f.Bad, n)
			continue
		}
		k.Line, k.Raw = n, raw
		f.Keys = append(f.Keys, k)
	}
	return f
}

func parseLine(s string) (Key, bool) {
	var k Key
	typ, rest := field(s)
	if !IsKeyType(typ) {
		// Options first: up to the first unquoted blank.
		opts, after, ok := splitOptions(s)
		if !ok {
			return k, false
		}
		k.Options = opts
		typ, rest = field(after)
		if !IsKeyType(typ) {
			return k, false
		}
	}
	k.Type = typ
	k.Blob, rest = field(rest)
	if k.Blob == "" {
		return k, false
	}
	k.Comment = strings.TrimSpace(rest)
	return k, true
}

func field(s string) (string, string) {
	s = strings.TrimLeft(s, " \t")
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// splitOptions reads options up to the first blank outside quotes.
func splitOptions(s string) ([]Option, string, bool) {
	var opts []Option
	var cur strings.Builder
	inQuote := false
	i := 0
	flush := func() {
		t := cur.String()
		cur.Reset()
		if t == "" {
			return
		}
		name, value, _ := strings.Cut(t, "=")
		opts = append(opts, Option{Name: name, Value: value})
	}
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && inQuote && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			flush()
		case (c == ' ' || c == '\t') && !inQuote:
			flush()
			return opts, s[i:], true
		default:
			cur.WriteByte(c)
		}
	}
	return nil, "", false
}
