// Package selinuxconfig parses /etc/selinux/config, the file libselinux
// reads at boot for the SELinux mode (SELINUX=) and the policy type
// (SELINUXTYPE=). The selinux check reports on it and the facts use it to
// decide whether restored files need labels; both read it through Parse so
// that they agree on what the file says.
package selinuxconfig

import "strings"

// DefaultType is the policy type libselinux uses when the file names none.
const DefaultType = "targeted"

// Config is what the file says.
type Config struct {
	// Mode is the SELINUX= value, lowercased and unquoted: enforcing,
	// permissive, disabled, or whatever was written; "" when no line sets
	// it (ModeLine 0) or the line sets it to nothing.
	Mode     string
	ModeLine int
	// Type is the SELINUXTYPE= value as written (unquoted), DefaultType
	// when no line sets it.
	Type     string
	TypeLine int
	// Malformed are the lines (1-based) that are neither blank, comments
	// nor KEY=value.
	Malformed []int
}

// Parse reads the content of /etc/selinux/config. It never fails: a line it
// cannot read is listed in Malformed. For a key set twice, the last line
// wins, as in libselinux.
func Parse(data []byte) Config {
	c := Config{Type: DefaultType}
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return c
	}
	for i, l := range strings.Split(s, "\n") {
		t := strings.TrimSpace(strings.TrimRight(l, "\r"))
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			c.Malformed = append(c.Malformed, i+1)
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch strings.TrimSpace(k) {
		case "SELINUX":
			c.Mode, c.ModeLine = strings.ToLower(v), i+1
		case "SELINUXTYPE":
			c.Type, c.TypeLine = v, i+1
		}
	}
	return c
}

// PolicyType is Type when it can name a directory under /etc/selinux, else
// DefaultType: a path is built from it, and an empty value or one with a
// slash or a dot would name another directory.
func (c Config) PolicyType() string {
	if c.Type == "" || strings.ContainsAny(c.Type, "/.") {
		return DefaultType
	}
	return c.Type
}
