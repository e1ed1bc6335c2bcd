package repair

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"strconv"
)

// Mode is a permission mode: the 0777 bits plus setuid, setgid and sticky
// (07777), as chmod(1) takes it. It prints and marshals as octal ("0755").
type Mode uint32

// String returns the mode as four octal digits.
func (m Mode) String() string { return fmt.Sprintf("%04o", uint32(m)) }

// MarshalJSON writes the mode as an octal string.
func (m Mode) MarshalJSON() ([]byte, error) { return json.Marshal(m.String()) }

// UnmarshalJSON reads an octal string or a plain number.
func (m *Mode) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n uint32
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("mode: %w", err)
		}
		*m = Mode(n)
		return nil
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return fmt.Errorf("mode %q: not an octal mode", s)
	}
	*m = Mode(n)
	return nil
}

// ModeOf extracts the chmod bits of an fs.FileMode.
func ModeOf(m fs.FileMode) Mode {
	r := Mode(m.Perm())
	if m&fs.ModeSetuid != 0 {
		r |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		r |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		r |= 0o1000
	}
	return r
}

// Type is the kind of object at a path.
type Type string

// The types a State can hold.
const (
	Absent  Type = "absent"
	File    Type = "file"
	Dir     Type = "dir"
	Symlink Type = "symlink"
	Other   Type = "other" // device, FIFO, socket: rescue never writes these
)

// State is what is at a path: the facts an op records when it is planned and
// apply checks again before it acts, so that nothing that changed since the
// scan is overwritten.
type State struct {
	Type   Type   `json:"type"`
	Mode   Mode   `json:"mode,omitempty"`
	UID    int    `json:"uid"`
	GID    int    `json:"gid"`
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Target string `json:"target,omitempty"` // symlink target
	// Node and Rdev say what an Other is: "fifo", "socket", or a "char"
	// or "block" device and its device number. Undo re-creates one that
	// a repair removed, and restores the mode and owner of one it
	// changed.
	Node string `json:"node,omitempty"`
	Rdev uint64 `json:"rdev,omitempty"`
}

// Equal reports whether two states describe the same object. Symlink owners
// and modes are not compared: they carry no meaning on Linux and are set by
// whoever creates the link.
func (s State) Equal(o State) bool {
	if s.Type != o.Type {
		return false
	}
	switch s.Type {
	case Absent:
		return true
	case Symlink:
		return s.Target == o.Target
	case File:
		return s.Mode == o.Mode && s.UID == o.UID && s.GID == o.GID && s.SHA256 == o.SHA256
	case Other:
		return s.Node == o.Node && s.Rdev == o.Rdev && s.Mode == o.Mode && s.UID == o.UID && s.GID == o.GID
	default:
		return s.Mode == o.Mode && s.UID == o.UID && s.GID == o.GID
	}
}

// Describe is a short human description used in refusals.
func (s State) Describe() string {
	switch s.Type {
	case Absent:
		return "absent"
	case Symlink:
		return "symlink to " + s.Target
	case File:
		h := s.SHA256
		if len(h) > 12 {
			h = h[:12]
		}
		return fmt.Sprintf("file %s %d:%d %d bytes sha256 %s", s.Mode, s.UID, s.GID, s.Size, h)
	case Other:
		if s.Node != "" {
			return fmt.Sprintf("%s %s %d:%d", s.Node, s.Mode, s.UID, s.GID)
		}
		return fmt.Sprintf("%s %s %d:%d", s.Type, s.Mode, s.UID, s.GID)
	default:
		return fmt.Sprintf("%s %s %d:%d", s.Type, s.Mode, s.UID, s.GID)
	}
}

// Diff names the fields that differ between s (expected) and o (found).
func (s State) Diff(o State) string {
	switch {
	case s.Type != o.Type, s.Node != o.Node, s.Rdev != o.Rdev:
		return fmt.Sprintf("expected %s, found %s", s.Describe(), o.Describe())
	case s.Type == Symlink && s.Target != o.Target:
		return fmt.Sprintf("symlink target was %q, now %q", s.Target, o.Target)
	case s.SHA256 != o.SHA256:
		return "content changed"
	case s.Mode != o.Mode:
		return fmt.Sprintf("mode was %s, now %s", s.Mode, o.Mode)
	case s.UID != o.UID || s.GID != o.GID:
		return fmt.Sprintf("owner was %d:%d, now %d:%d", s.UID, s.GID, o.UID, o.GID)
	}
	return "unchanged"
}

func sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}
