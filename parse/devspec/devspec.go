// Package devspec reads the ways Linux configuration names a block device:
// the tags of fstab(5) and of the kernel's root= (UUID=, LABEL=, PARTUUID=,
// PARTLABEL=, quoted or not), the udev links that stand for the same names
// (/dev/disk/by-uuid/…, by-label, by-partuuid, by-partlabel, with udev's \x
// escapes), and anything else (a kernel device name, a /dev/mapper path, a
// file, a network or pseudo source), which it keeps as written.
//
// fstab's own octal escapes (\040) are decoded by parse/fstab before a spec
// reaches Parse: a spec here is the text mount(8) or the kernel sees.
package devspec

import (
	"strings"
	"unicode/utf8"
)

// Kind is the name a spec goes by.
type Kind int

const (
	// Path is anything that is not a tag or a tag's udev link: Value is
	// the spec as written.
	Path Kind = iota
	// UUID is a filesystem UUID (blkid's UUID).
	UUID
	// Label is a filesystem label (blkid's LABEL).
	Label
	// PartUUID is a partition's GUID, or the disk signature and number of
	// a DOS partition (blkid's PARTUUID).
	PartUUID
	// PartLabel is a GPT partition name (blkid's PARTLABEL).
	PartLabel
)

// kinds lists the tags in the order Parse tries them, with their key and
// the name of their directory under /dev/disk.
var kinds = []struct {
	kind      Kind
	key, link string
}{
	{UUID, "UUID", "by-uuid"},
	{Label, "LABEL", "by-label"},
	{PartUUID, "PARTUUID", "by-partuuid"},
	{PartLabel, "PARTLABEL", "by-partlabel"},
}

// String returns the tag's key (UUID, LABEL, PARTUUID, PARTLABEL), or "path".
func (k Kind) String() string {
	for _, x := range kinds {
		if x.kind == k {
			return x.key
		}
	}
	return "path"
}

// Spec is a parsed device specification.
type Spec struct {
	Kind Kind
	// Value is the decoded name for a tag (no quotes, no \x escapes), or
	// the spec as written for a Path.
	Value string
	// Link is true when the tag was written as its udev link
	// (/dev/disk/by-label/…) rather than as KEY=value.
	Link bool
}

// Parse reads a device specification. A tag needs something after its "="
// (UUID= alone is not one) and a link something after its directory. Every
// quote at either end of a tag's value is dropped (blkid drops one pair; a
// value with more is broken either way) and a link's udev escapes (\x2f,
// \x20) are decoded. Parse never fails: what is not a tag is a Path.
func Parse(s string) Spec {
	for _, x := range kinds {
		if v, ok := strings.CutPrefix(s, x.key+"="); ok && v != "" {
			return Spec{Kind: x.kind, Value: strings.Trim(v, `"'`)}
		}
		if v, ok := strings.CutPrefix(s, "/dev/disk/"+x.link+"/"); ok && v != "" {
			return Spec{Kind: x.kind, Value: unescapeUdev(v), Link: true}
		}
	}
	return Spec{Kind: Path, Value: s}
}

// String writes the spec back in the form it was read in: KEY=value (with
// quotes only when the value is empty), the udev link with udev's escapes,
// or the path. Parse(s.String()) gives s back for any s Parse returned.
func (s Spec) String() string {
	for _, x := range kinds {
		if x.kind != s.Kind {
			continue
		}
		if s.Link {
			return "/dev/disk/" + x.link + "/" + escapeUdev(s.Value)
		}
		if s.Value == "" {
			return x.key + `=""`
		}
		return x.key + "=" + s.Value
	}
	return s.Value
}

// IsTag reports whether the spec names a device by one of its identifiers
// rather than by a path.
func (s Spec) IsTag() bool { return s.Kind != Path }

// IDs are the identifiers a tag can name a device by; "" is one it lacks.
type IDs struct {
	UUID, Label, PartUUID, PartLabel string
}

// Matches reports whether a device with these identifiers is the one a tag
// names. UUIDs compare without regard to case (blkid prints them in lower
// case, fstab files hold upper case ones too, and udev's links are lower
// case); labels are names and compare exactly. An empty identifier or value
// matches nothing, and a Path matches nothing: a path is not an identifier.
func (s Spec) Matches(id IDs) bool {
	var have string
	switch s.Kind {
	case UUID:
		have = id.UUID
	case Label:
		have = id.Label
	case PartUUID:
		have = id.PartUUID
	case PartLabel:
		have = id.PartLabel
	default:
		return false
	}
	if have == "" || s.Value == "" {
		return false
	}
	if s.Kind == UUID || s.Kind == PartUUID {
		return strings.EqualFold(have, s.Value)
	}
	return have == s.Value
}

// unescapeUdev decodes the \xHH escapes udev writes into the names of its
// /dev/disk links (a "/" in a label is \x2f, a space \x20). A backslash not
// followed by two hex digits stays as it is.
func unescapeUdev(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			hi, ok1 := unhex(s[i+2])
			lo, ok2 := unhex(s[i+3])
			if ok1 && ok2 {
				b.WriteByte(hi<<4 | lo)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// escapeUdev encodes a name as udev does for its links (systemd's
// encode_devnode_name): letters, digits, "#+-.:=@_" and multi-byte UTF-8
// stay, every other byte (a backslash included) becomes \xHH.
func escapeUdev(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); {
		if _, n := utf8.DecodeRuneInString(s[i:]); n > 1 {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("#+-.:=@_", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
		i++
	}
	return b.String()
}
