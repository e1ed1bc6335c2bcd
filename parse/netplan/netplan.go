// Package netplan reads the parts of netplan YAML files (/etc/netplan/*.yaml)
// that rescue judges: the devices (ethernets, bonds, bridges, vlans), how
// they are matched to NICs, their static addresses, gateway4 and routes,
// with the lines they are on so that a fix can edit the file in place.
package netplan

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Route is one item of a device's routes list.
type Route struct {
	To, Via string
	OnLink  bool
	// Line and End are the first and last lines of the item.
	Line, End int
}

// Default reports whether the route is a default IPv4 route.
func (r Route) Default() bool {
	return r.To == "default" || r.To == "0.0.0.0/0"
}

// Device is one entry under ethernets, bonds, bridges or vlans.
type Device struct {
	Kind string // "ethernets", "bonds", ...
	ID   string // the key
	Line int    // the line of the key
	// Indent is the column (0-based) of the entry's keys; -1 when the
	// entry is written in flow style ({...}) and cannot take a line.
	Indent                   int
	MatchMAC, MatchName      string
	SetName                  string
	Renderer                 string
	DHCP4                    bool
	Addresses                []string
	Gateway4                 string
	Gateway4Line             int
	Routes                   []Route
	RoutesLine               int // the line of the "routes:" key
	MatchLine, AddressesLine int
	DHCP4Line                int
	lastLine                 int
}

// End is the last line the entry spans.
func (d *Device) End() int { return d.lastLine }

// File is one netplan file.
type File struct {
	Renderer string
	Devices  []*Device
}

// Parse reads a netplan file. Invalid YAML is an error (netplan generate
// fails on it); fields of unexpected types are skipped.
func Parse(data []byte) (*File, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	f := &File{}
	if len(root.Content) == 0 {
		return f, nil
	}
	doc := root.Content[0]
	network := get(doc, "network")
	if network == nil {
		return f, nil
	}
	if r := get(network, "renderer"); r != nil && r.Kind == yaml.ScalarNode {
		f.Renderer = r.Value
	}
	for _, kind := range []string{"ethernets", "bonds", "bridges", "vlans"} {
		m := get(network, kind)
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			d := &Device{Kind: kind, ID: k.Value, Line: k.Line, Indent: -1}
			d.lastLine = last(v)
			if v.Kind != yaml.MappingNode {
				f.Devices = append(f.Devices, d)
				continue
			}
			if v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 {
				d.Indent = v.Content[0].Column - 1
			}
			if mt := get(v, "match"); mt != nil {
				d.MatchLine = mt.Line
				d.MatchMAC = scalar(get(mt, "macaddress"))
				d.MatchName = scalar(get(mt, "name"))
			}
			d.SetName = scalar(get(v, "set-name"))
			d.Renderer = scalar(get(v, "renderer"))
			if n := get(v, "dhcp4"); n != nil {
				d.DHCP4Line = n.Line
				switch strings.ToLower(n.Value) {
				case "true", "yes", "on", "y":
					d.DHCP4 = true
				}
			}
			if a := get(v, "addresses"); a != nil && a.Kind == yaml.SequenceNode {
				d.AddressesLine = a.Line
				for _, x := range a.Content {
					switch x.Kind {
					case yaml.ScalarNode:
						d.Addresses = append(d.Addresses, x.Value)
					case yaml.MappingNode:
						// "- 10.0.0.5/24: {lifetime: 0}"
						if len(x.Content) > 0 {
							d.Addresses = append(d.Addresses, x.Content[0].Value)
						}
					}
				}
			}
			if g := get(v, "gateway4"); g != nil && g.Kind == yaml.ScalarNode {
				d.Gateway4, d.Gateway4Line = g.Value, g.Line
			}
			if r := get(v, "routes"); r != nil && r.Kind == yaml.SequenceNode {
				d.RoutesLine = keyLine(v, "routes")
				for _, x := range r.Content {
					if x.Kind != yaml.MappingNode {
						continue
					}
					rt := Route{To: scalar(get(x, "to")), Via: scalar(get(x, "via")), Line: x.Line, End: last(x)}
					switch strings.ToLower(scalar(get(x, "on-link"))) {
					case "true", "yes", "on", "y":
						rt.OnLink = true
					}
					d.Routes = append(d.Routes, rt)
				}
			}
			f.Devices = append(f.Devices, d)
		}
	}
	return f, nil
}

// EffectiveRenderer is the backend that brings the device up: its own
// renderer, the file's, else networkd (netplan's default).
func (f *File) EffectiveRenderer(d *Device) string {
	switch {
	case d.Renderer != "":
		return d.Renderer
	case f.Renderer != "":
		return f.Renderer
	}
	return "networkd"
}

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func keyLine(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return 0
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// last returns the last line a node spans, bounded in depth so that a
// hostile document (aliases nested deep) costs little.
func last(n *yaml.Node) int {
	var walk func(n *yaml.Node, depth int) int
	walk = func(n *yaml.Node, depth int) int {
		if n == nil || depth > 64 {
			return 0
		}
		l := n.Line
		if n.Kind == yaml.AliasNode {
			return l
		}
		for _, c := range n.Content {
			l = max(l, walk(c, depth+1))
		}
		if n.Kind == yaml.ScalarNode && (n.Style&(yaml.LiteralStyle|yaml.FoldedStyle)) != 0 {
			l += strings.Count(strings.TrimRight(n.Value, "\n"), "\n") + 1
		}
		return l
	}
	return walk(n, 0)
}

// String describes a device for messages.
func (d *Device) String() string {
	return fmt.Sprintf("%s %s", strings.TrimSuffix(d.Kind, "s"), d.ID)
}
