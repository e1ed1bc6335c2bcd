package disk

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"rescue/parse/mountinfo"
)

// DefaultStateDir is where mount sessions are recorded. /run is a tmpfs:
// its records vanish at reboot together with the mounts they describe.
const DefaultStateDir = "/run/rescue"

// MountRecord is one mount a session made, written down before the mount
// happens so that an interrupted run can still be undone.
type MountRecord struct {
	// Target is the host path the filesystem is mounted on.
	Target string `json:"target"`
	// Point is the mount point inside the target root ("/boot").
	Point string `json:"point"`
	// Volume names what is mounted (/dev/vdb2, an ESP copy).
	Volume string `json:"volume"`
	// Source is the loop device, or the directory of a bind mount.
	Source  string `json:"source"`
	FSType  string `json:"fstype"`
	Options string `json:"options,omitempty"`
	Bind    bool   `json:"bind,omitempty"`
	// Loop is the byte range the loop device maps (the kernel detaches
	// it when the mount goes, through its autoclear flag).
	Loop *LoopRecord `json:"loop,omitempty"`
	// TempDir is a private directory to remove after the unmount (the
	// copy of a FAT filesystem).
	TempDir string `json:"temp_dir,omitempty"`
	// Done is set once the mount succeeded.
	Done bool `json:"done"`
}

// LoopRecord is a loop device's mapping.
type LoopRecord struct {
	Device string `json:"device"`
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
}

// State is the record of a mount session.
type State struct {
	Version int    `json:"version"`
	Dir     string `json:"dir"`
	Disk    string `json:"disk"`
	Root    string `json:"root"`
	// Writable says whether the session mounted read-write.
	Writable bool `json:"writable"`
	// Temporary sessions belong to one command (scan, fix); a later run
	// undoes them when that command's process is gone.
	Temporary  bool          `json:"temporary,omitempty"`
	PID        int           `json:"pid"`
	Created    time.Time     `json:"created"`
	CreatedDir bool          `json:"created_dir,omitempty"`
	Mounts     []MountRecord `json:"mounts"`
	// ESP holds what is needed to write a FAT copy back.
	ESP *ESPRecord `json:"esp,omitempty"`
	// LVM are the volume groups activated with the helper's LVM, to be
	// deactivated after the unmount.
	LVM []LVMRecord `json:"lvm,omitempty"`

	path string
}

func stateFile(stateDir, dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(stateDir, "sessions", hex.EncodeToString(sum[:8])+".json")
}

// save writes the state atomically and durably.
func (s *State) save() error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("recording the mount session: %w", err)
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("recording the mount session: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("recording the mount session: %w", err)
	}
	return nil
}

// LoadState reads the session recorded for dir (a mount directory) in
// stateDir ("" for DefaultStateDir).
func LoadState(stateDir, dir string) (*State, error) {
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	p := stateFile(stateDir, filepath.Clean(abs))
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("rescue mounted nothing at %s (no record in %s): %w", dir, filepath.Dir(p), os.ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	s := &State{}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("reading the mount record %s: %w", p, err)
	}
	s.path = p
	return s, nil
}

// Sessions lists the recorded sessions.
func Sessions(stateDir string) ([]*State, error) {
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	files, err := filepath.Glob(filepath.Join(stateDir, "sessions", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*State
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := &State{}
		if json.Unmarshal(data, s) == nil {
			s.path = p
			out = append(out, s)
		}
	}
	return out, nil
}

// alive reports whether the process that made a session still runs.
func (s *State) alive() bool {
	if s.PID <= 0 {
		return false
	}
	err := unix.Kill(s.PID, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// mountTable reads /proc/self/mountinfo. A line parse/mountinfo cannot
// read is left out: the kernel writes the file, and a mount it shows in a
// form nobody knows is one rescue cannot reason about anyway.
func mountTable() ([]mountinfo.Entry, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	tab, _ := mountinfo.Parse(data)
	return tab, nil
}

// isMounted reports whether something is mounted exactly at target, with
// the given source when source is not "".
func isMounted(target, source string) bool {
	tab, err := mountTable()
	if err != nil {
		return false
	}
	for _, e := range tab {
		if e.Point == target && (source == "" || e.Source == source) {
			return true
		}
	}
	return false
}
