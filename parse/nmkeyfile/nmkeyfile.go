// Package nmkeyfile reads NetworkManager keyfiles
// (/etc/NetworkManager/system-connections/*.nmconnection), the GLib key
// file format: [section] headers, key=value lines, comments from '#'. Every
// value keeps its line so that a fix can edit the file in place.
package nmkeyfile

import (
	"strings"
)

// Entry is one key=value line.
type Entry struct {
	Section, Key, Value string
	Line                int // 1-based
}

// File is a parsed keyfile.
type File struct {
	Entries []Entry
	// Sections maps a section to the line of its header (the first one
	// when repeated).
	Sections map[string]int
}

// Parse reads keyfile content. It never fails: lines GLib would reject are
// skipped (NetworkManager then ignores the whole file, which the caller
// cannot fix anyway).
func Parse(data []byte) *File {
	f := &File{Sections: map[string]int{}}
	section := ""
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(strings.TrimRight(raw, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			if end := strings.IndexByte(line, ']'); end > 0 {
				section = line[1:end]
				if _, ok := f.Sections[section]; !ok {
					f.Sections[section] = i + 1
				}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			continue
		}
		f.Entries = append(f.Entries, Entry{Section: section, Key: strings.TrimSpace(k), Value: strings.TrimSpace(v), Line: i + 1})
	}
	return f
}

// Get returns the last value of key in section (GLib keeps the last), and
// its line; "" and 0 when unset.
func (f *File) Get(section, key string) (string, int) {
	v, line := "", 0
	for _, e := range f.Entries {
		if e.Section == section && e.Key == key {
			v, line = e.Value, e.Line
		}
	}
	return v, line
}

// Last returns the last line of section (its header when it is empty),
// 0 when there is no such section.
func (f *File) Last(section string) int {
	l := f.Sections[section]
	for _, e := range f.Entries {
		if e.Section == section {
			l = max(l, e.Line)
		}
	}
	return l
}

// Address is one static address of an [ipv4] section: addressN=ADDR/PREFIX
// with an optional ",GATEWAY" (the older form of gateway=).
type Address struct {
	Key     string // "address1", "addresses1"
	Address string // "10.0.0.5/24"
	Gateway string
	Line    int
}

// IPv4Addresses returns the static addresses of the [ipv4] section in key
// order (address1, address2, ...; NetworkManager also reads "addressesN"
// and a bare "address").
func (f *File) IPv4Addresses() []Address {
	var out []Address
	for _, e := range f.Entries {
		if e.Section != "ipv4" {
			continue
		}
		rest, ok := strings.CutPrefix(e.Key, "addresses")
		if !ok {
			rest, ok = strings.CutPrefix(e.Key, "address")
		}
		if !ok || strings.Trim(rest, "0123456789") != "" {
			continue
		}
		for _, part := range strings.Split(strings.TrimSuffix(e.Value, ";"), ";") {
			addr, gw, _ := strings.Cut(strings.TrimSpace(part), ",")
			if addr == "" {
				continue
			}
			out = append(out, Address{Key: e.Key, Address: strings.TrimSpace(addr), Gateway: strings.TrimSpace(gw), Line: e.Line})
		}
	}
	return out
}
