// Package hosts parses /etc/hosts (hosts(5)): an address, then names,
// separated by blanks; # starts a comment. Every entry keeps its line.
package hosts

import (
	"net/netip"
	"strings"
)

// Entry is one line that maps names to an address.
type Entry struct {
	Line  int
	Raw   string
	Addr  netip.Addr
	Names []string
}

// Parse parses hosts content; lines without a valid address are skipped,
// as glibc skips them.
func Parse(data []byte) []Entry {
	var out []Entry
	for i, raw := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		s := raw
		if j := strings.IndexByte(s, '#'); j >= 0 {
			s = s[:j]
		}
		f := strings.Fields(s)
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		out = append(out, Entry{Line: i + 1, Raw: raw, Addr: a, Names: f[1:]})
	}
	return out
}

// Blocks says whether the address sends a name nowhere: loopback or the
// unspecified address.
func (e Entry) Blocks() bool { return e.Addr.IsLoopback() || e.Addr.IsUnspecified() }

// Private says whether the address is one of a private network, where an
// organisation's own mirror may well be.
func (e Entry) Private() bool {
	return e.Addr.IsPrivate() || e.Addr.IsLinkLocalUnicast() || netip.MustParsePrefix("100.64.0.0/10").Contains(e.Addr.Unmap())
}
