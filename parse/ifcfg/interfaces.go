package ifcfg

import "strings"

// Interfaces is a parsed ifupdown interfaces(5) file.
type Interfaces struct {
	// Auto lists the interfaces brought up at boot ("auto",
	// "allow-auto" and "allow-hotplug" lines), in order.
	Auto []Mark
	// Stanzas are the "iface NAME FAMILY METHOD" lines.
	Stanzas []Stanza
	// Sources are the "source" patterns and SourceDirs the
	// "source-directory" directories, as written.
	Sources    []string
	SourceDirs []string
}

// Mark is an interface name on an auto or allow-hotplug line.
type Mark struct {
	Name string
	Line int
}

// Stanza is an iface line.
type Stanza struct {
	Name   string
	Family string // inet, inet6, ...
	Method string // dhcp, static, manual, loopback, ...
	Line   int
	// Options are the option lines that follow it ("address 10.0.0.5/24",
	// "gateway 10.0.0.1"), up to the next stanza.
	Options []Option
}

// Option is one option line of a stanza.
type Option struct {
	Key   string
	Value string // the rest of the line, blanks collapsed
	Line  int    // 1-based, the first physical line
}

// Option returns the last value of an option ("" when absent) and its line.
func (s Stanza) Option(key string) (string, int) {
	for i := len(s.Options) - 1; i >= 0; i-- {
		if s.Options[i].Key == key {
			return s.Options[i].Value, s.Options[i].Line
		}
	}
	return "", 0
}

// ParseInterfaces reads an interfaces file: '#' starts a comment line, a
// trailing backslash continues a line, and only the lines that say which
// interfaces exist and come up are kept.
func ParseInterfaces(data []byte) *Interfaces {
	f := &Interfaces{}
	lines := strings.Split(string(data), "\n")
	in := -1 // the stanza option lines belong to
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimRight(lines[i], "\r")
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimRight(lines[i], "\r")
		}
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		in0 := in
		in = -1
		switch {
		case fields[0] == "auto" || fields[0] == "allow-auto" || strings.HasPrefix(fields[0], "allow-hotplug"):
			for _, name := range fields[1:] {
				f.Auto = append(f.Auto, Mark{Name: name, Line: n})
			}
		case fields[0] == "iface" && len(fields) >= 4:
			f.Stanzas = append(f.Stanzas, Stanza{Name: fields[1], Family: fields[2], Method: fields[3], Line: n})
			in = len(f.Stanzas) - 1
		case fields[0] == "source" && len(fields) >= 2:
			f.Sources = append(f.Sources, fields[1:]...)
		case fields[0] == "source-directory" && len(fields) >= 2:
			f.SourceDirs = append(f.SourceDirs, fields[1:]...)
		case fields[0] == "mapping" || fields[0] == "iface":
		case in0 >= 0:
			st := &f.Stanzas[in0]
			st.Options = append(st.Options, Option{Key: fields[0], Value: strings.Join(fields[1:], " "), Line: n})
			in = in0
		}
	}
	return f
}
