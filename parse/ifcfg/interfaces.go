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
}

// ParseInterfaces reads an interfaces file: '#' starts a comment line, a
// trailing backslash continues a line, and only the lines that say which
// interfaces exist and come up are kept.
func ParseInterfaces(data []byte) *Interfaces {
	f := &Interfaces{}
	lines := strings.Split(string(data), "\n")
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
		switch {
		case fields[0] == "auto" || fields[0] == "allow-auto" || strings.HasPrefix(fields[0], "allow-hotplug"):
			for _, name := range fields[1:] {
				f.Auto = append(f.Auto, Mark{Name: name, Line: n})
			}
		case fields[0] == "iface" && len(fields) >= 4:
			f.Stanzas = append(f.Stanzas, Stanza{Name: fields[1], Family: fields[2], Method: fields[3], Line: n})
		case fields[0] == "source" && len(fields) >= 2:
			f.Sources = append(f.Sources, fields[1:]...)
		case fields[0] == "source-directory" && len(fields) >= 2:
			f.SourceDirs = append(f.SourceDirs, fields[1:]...)
		}
	}
	return f
}
