// Package blkid reads the block-device list a runbook or an operator hands
// rescue: the output of blkid(8), in its default form
// (/dev/vda1: UUID="…" TYPE="ext4" PARTUUID="…") or its -o export form
// (DEVNAME=/dev/vda1, then KEY=value lines, a blank line between devices).
package blkid

import (
	"fmt"
	"strings"

	"rescue/parse/devspec"
)

// Device is one block device and what its superblock says.
type Device struct {
	Path      string `json:"path"`
	UUID      string `json:"uuid,omitempty"`
	Label     string `json:"label,omitempty"`
	PartUUID  string `json:"partuuid,omitempty"`
	PartLabel string `json:"partlabel,omitempty"`
	Type      string `json:"type,omitempty"`
}

// Parse reads either blkid format. Lines it cannot read are errors with
// their line numbers; the devices read so far are still returned.
func Parse(data []byte) ([]Device, error) {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if strings.HasPrefix(strings.TrimSpace(text), "DEVNAME=") {
		return parseExport(text)
	}
	var out []Device
	var errs []string
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		dev, rest, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(dev, "/") {
			errs = append(errs, fmt.Sprintf("line %d: expected \"/dev/NAME: KEY=\"VALUE\" …\"", n+1))
			continue
		}
		d := Device{Path: dev}
		kv, err := pairs(rest)
		if err != nil {
			errs = append(errs, fmt.Sprintf("line %d: %v", n+1, err))
			continue
		}
		for _, p := range kv {
			d.set(p[0], p[1])
		}
		out = append(out, d)
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("reading device list: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

func parseExport(text string) ([]Device, error) {
	var out []Device
	var cur *Device
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			cur = nil
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return out, fmt.Errorf("reading device list: line %d: expected KEY=value", n+1)
		}
		if k == "DEVNAME" {
			out = append(out, Device{Path: v})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			return out, fmt.Errorf("reading device list: line %d: %s before DEVNAME", n+1, k)
		}
		cur.set(k, v)
	}
	return out, nil
}

// Find returns the first device in list that a tag names (by the rules of
// devspec.Spec.Matches), or nil: a path names none.
func Find(list []Device, s devspec.Spec) *Device {
	for i := range list {
		d := &list[i]
		if s.Matches(devspec.IDs{UUID: d.UUID, Label: d.Label, PartUUID: d.PartUUID, PartLabel: d.PartLabel}) {
			return d
		}
	}
	return nil
}

func (d *Device) set(k, v string) {
	switch k {
	case "UUID":
		d.UUID = v
	case "LABEL":
		d.Label = v
	case "PARTUUID":
		d.PartUUID = v
	case "PARTLABEL":
		d.PartLabel = v
	case "TYPE":
		d.Type = v
	}
}

// pairs splits ` KEY="value" KEY2="v\"x"` into key/value pairs.
func pairs(s string) ([][2]string, error) {
	var out [][2]string
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq <= 0 {
			return out, fmt.Errorf("expected KEY=\"VALUE\" at %q", s[i:])
		}
		key := s[i : i+eq]
		i += eq + 1
		if i >= len(s) || s[i] != '"' {
			return out, fmt.Errorf("value of %s is not quoted", key)
		}
		i++
		var v strings.Builder
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			v.WriteByte(s[i])
		}
		if i >= len(s) {
			return out, fmt.Errorf("value of %s is not closed", key)
		}
		i++
		out = append(out, [2]string{key, v.String()})
	}
}
