package repair

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"rescue/sysroot"
)

// JournalSchema versions the journal format.
const JournalSchema = "rescue.journal/v1"

// DefaultJournalDir is where journals live inside the target when no
// --journal-dir is given: on the repaired disk itself, so that undo works
// from any helper the disk is attached to later.
const DefaultJournalDir = "/var/lib/rescue"

// Journal statuses.
const (
	StatusApplying = "applying" // written before the first change; still so if apply was killed
	StatusApplied  = "applied"
	StatusFailed   = "failed"
	StatusUndone   = "undone"
)

// Journal is the record of one repair: what was planned, what each path
// looked like before and should look like after, and where its backup is.
type Journal struct {
	Schema  string        `json:"schema"`
	ID      string        `json:"id"`
	Target  string        `json:"target"`
	Created time.Time     `json:"created"`
	Status  string        `json:"status"`
	Undone  *time.Time    `json:"undone,omitempty"`
	Error   string        `json:"error,omitempty"`
	Items   []JournalItem `json:"items"`
	Paths   []PathRecord  `json:"paths"`
	// Unrecorded lists what a command run in the target's chroot changed
	// or removed besides the files it was meant to rewrite: undo cannot
	// put those back.
	Unrecorded []string `json:"unrecorded,omitempty"`
	// Regions are the byte ranges of the disk outside its filesystems
	// that the repair may have rewritten, with their backups.
	Regions []RegionRecord `json:"regions,omitempty"`
}

// JournalItem is one applied fix.
type JournalItem struct {
	Finding string      `json:"finding"`
	Fix     string      `json:"fix"`
	Ops     []JournalOp `json:"ops"`
}

// JournalOp is one op of a fix and what became of it.
type JournalOp struct {
	Kind    Kind   `json:"kind"`
	Path    string `json:"path,omitempty"`
	Summary string `json:"summary"`
	Status  string `json:"status"` // pending, applied, failed
	Error   string `json:"error,omitempty"`
}

// PathRecord holds what undo needs for one path: its state and metadata
// before the repair (with a backup of the content) and its state after.
type PathRecord struct {
	Path   string `json:"path"`
	Before State  `json:"before"`
	Backup string `json:"backup,omitempty"` // file under backup/
	// Link is a hard link under backup/ to the original inode of a file
	// that had other names, when the journal is on its filesystem: undo
	// puts that very inode back, so the names stay one file.
	Link string `json:"link,omitempty"`
	// Inode is the file's inode number before the repair, to tell whether
	// the path still holds that very file.
	Inode      uint64            `json:"inode,omitempty"`
	Xattrs     map[string][]byte `json:"xattrs,omitempty"`
	Mtime      time.Time         `json:"mtime"`
	Flags      uint32            `json:"flags,omitempty"`
	After      State             `json:"after"`
	AfterKnown bool              `json:"after_known"`
	// Quarantined marks a file the repair moved into the journal: its
	// backup is the evidence to hand on (Before.SHA256 is its digest).
	Quarantined bool `json:"quarantined,omitempty"`
	// Spilled marks a file moved off the target to make room (--spill):
	// its backup is the file itself, which undo puts back.
	Spilled bool `json:"spilled,omitempty"`
}

// store reads and writes journals in one directory through a Writer.
type store struct {
	w *Writer
}

// openStore opens (creating if asked) the journal directory. dir is a host
// path when set; otherwise the journal lives in DefaultJournalDir inside the
// target, created and opened through the target's root (Sub) so that a
// planted var/lib/rescue symlink cannot send it elsewhere.
func openStore(target *Writer, dir string, create bool) (*store, error) {
	if dir == "" {
		if create {
			if err := target.MkdirAll(DefaultJournalDir); err != nil {
				return nil, err
			}
		}
		sub, err := target.root.Sub(DefaultJournalDir)
		if err != nil {
			return nil, err
		}
		return &store{w: &Writer{root: sub}}, nil
	}
	if create {
		if err := mkdirHost(dir); err != nil {
			return nil, err
		}
	}
	w, err := NewWriter(dir)
	if err != nil {
		return nil, err
	}
	return &store{w: w}, nil
}

// close releases the journal directory's handle: an open handle keeps the
// target's filesystem busy, so that it could not be unmounted.
func (s *store) close() error { return s.w.Close() }

func newID(now time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

func (s *store) save(j *Journal) error {
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return s.w.WriteFile(path.Join("/", j.ID, "journal.json"), append(data, '\n'), Meta{Mode: 0o600})
}

func (s *store) load(id string) (*Journal, error) {
	if id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
		return nil, fmt.Errorf("invalid repair id %q", id)
	}
	data, err := s.w.root.ReadFile(path.Join("/", id, "journal.json"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no repair %s in %s", id, s.w.root.HostPath())
		}
		return nil, err
	}
	var j Journal
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("reading journal %s: %w", id, err)
	}
	if j.Schema != JournalSchema {
		return nil, fmt.Errorf("journal %s has schema %q; this rescue reads %s", id, j.Schema, JournalSchema)
	}
	return &j, nil
}

// list returns every readable journal, newest first.
func (s *store) list() ([]*Journal, error) {
	entries, err := s.w.root.ReadDir("/")
	if err != nil {
		return nil, err
	}
	var out []*Journal
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		j, err := s.load(e.Name())
		if err != nil {
			continue // a directory that is not a journal, or a damaged one
		}
		out = append(out, j)
	}
	slices.SortFunc(out, func(a, b *Journal) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out, nil
}

// History returns the repairs recorded for a target, newest first. dir is
// the --journal-dir, or "" for the journal inside the target.
func History(root *sysroot.Root, dir string) ([]*Journal, error) {
	w := &Writer{root: root}
	s, err := openStore(w, dir, false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer s.close()
	return s.list()
}
