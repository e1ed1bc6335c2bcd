package unitfile

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"syscall"
)

// DirFS is what ConfFiles needs from a target root: listing directories,
// reading symlinks and resolving paths by target-absolute path.
// sysroot.Root satisfies it.
type DirFS interface {
	ReadDir(name string) ([]fs.DirEntry, error)
	Readlink(name string) (string, error)
	Resolve(name string) (string, error)
}

// ConfSet is the outcome of ConfFiles.
type ConfSet struct {
	// Files are the *.conf files in the order they apply.
	Files []string
	// Masked are the files that a same-named file in an earlier directory
	// hides (in directory order), then the names a symlink to /dev/null
	// masks (in name order).
	Masked []string
	// Errors are directories that exist but could not be listed.
	Errors []error
}

// ConfFiles orders the *.conf drop-ins of dirs (highest priority first) as
// systemd's conf_files_list does for system.conf.d, sysctl.d and their
// kind: one file per basename, the first directory wins, sorted by
// basename; a winner that is a symlink to /dev/null masks the name. Two
// directories that resolve to one (/lib and /usr/lib under a merged /usr)
// are read once, so that their files do not mask themselves.
func ConfFiles(root DirFS, dirs []string) ConfSet {
	var s ConfSet
	chosen := map[string]string{} // basename -> path
	seenDir := map[string]bool{}
	for _, dir := range dirs {
		if r, err := root.Resolve(dir); err == nil {
			if seenDir[r] {
				continue
			}
			seenDir[r] = true
		}
		entries, err := root.ReadDir(dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				s.Errors = append(s.Errors, err)
			}
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".conf") || e.IsDir() {
				continue
			}
			p := path.Join(dir, name)
			if _, dup := chosen[name]; dup {
				s.Masked = append(s.Masked, p)
				continue
			}
			chosen[name] = p
		}
	}
	names := make([]string, 0, len(chosen))
	for n := range chosen {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := chosen[n]
		if target, err := root.Readlink(p); err == nil && target == "/dev/null" {
			s.Masked = append(s.Masked, p)
			continue
		}
		s.Files = append(s.Files, p)
	}
	return s
}
