// Package mountinfo reads /proc/PID/mountinfo (proc_pid_mountinfo(5)): a
// line per mount, its fields separated by spaces, a variable list of
// optional fields ended by a lone "-", and spaces, tabs, newlines and
// backslashes in paths and sources written as the octal escapes fstab uses
// (\040).
package mountinfo

import (
	"fmt"
	"strconv"
	"strings"

	"rescue/parse/fstab"
)

// Entry is one mount. Root, Point and Source are unescaped.
type Entry struct {
	ID, Parent int
	// Dev is the major:minor of the filesystem's device.
	Dev string
	// Root is the directory of the filesystem that is mounted (not "/" for
	// a bind mount of a subdirectory).
	Root string
	// Point is where it is mounted.
	Point string
	// Options are the per-mount options (ro, nosuid, relatime, …).
	Options string
	// Optional are the tagged fields before the "-" (shared:N, master:N).
	Optional []string
	FSType   string
	// Source is the device or whatever the filesystem was mounted from.
	Source string
	// SuperOptions are the filesystem's own options.
	SuperOptions string
}

// Parse reads a mountinfo file. A line it cannot read (too few fields, no
// "-" after the sixth, an ID that is not a number) is left out and named in
// the error; the entries read are returned either way.
func Parse(data []byte) ([]Entry, error) {
	var out []Entry
	var bad []string
	for n, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		e, err := parseLine(f)
		if err != nil {
			bad = append(bad, fmt.Sprintf("line %d: %v", n+1, err))
			continue
		}
		out = append(out, e)
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("reading mountinfo: %s", strings.Join(bad, "; "))
	}
	return out, nil
}

func parseLine(f []string) (Entry, error) {
	// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 || sep+3 >= len(f) {
		return Entry{}, fmt.Errorf("%d fields, without the \"-\" and the three that follow it", len(f))
	}
	id, err1 := strconv.Atoi(f[0])
	parent, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return Entry{}, fmt.Errorf("mount IDs %q and %q are not numbers", f[0], f[1])
	}
	e := Entry{
		ID: id, Parent: parent, Dev: f[2],
		Root: fstab.Unescape(f[3]), Point: fstab.Unescape(f[4]), Options: f[5],
		FSType: f[sep+1], Source: fstab.Unescape(f[sep+2]), SuperOptions: f[sep+3],
	}
	if sep > 6 {
		e.Optional = f[6:sep]
	}
	return e, nil
}
