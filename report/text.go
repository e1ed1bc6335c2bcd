package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"rescue/disk"
	"rescue/repair"
	"rescue/safetext"
)

// WriteMount writes what rescue mount mounted, where, and why, and how to
// unmount it.
func WriteMount(w io.Writer, path string, rw bool, s *disk.Session) {
	mode := "read-only"
	if rw {
		mode = "read-write"
	}
	fmt.Fprintf(w, "Mounted %s %s at %s:\n", path, mode, s.Dir)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, m := range s.Mounts {
		how := m.Why
		if m.Copy {
			how += "; a copy of the FAT, written back by umount"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t(%s)\n", safetext.Line(filepath.Join(s.Dir, m.Point)), m.Volume.Name, m.Volume.FS.Type, safetext.Line(how))
	}
	tw.Flush()
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note: %s\n", safetext.Line(n))
	}
	fmt.Fprintf(w, "Unmount with: rescue umount %s\n", s.Dir)
}

// WriteUndoText writes what undo did to each path.
func WriteUndoText(w io.Writer, res *repair.UndoResult) {
	failed := 0
	for _, p := range res.Paths {
		fmt.Fprintf(w, "%-9s %s\n", p.Action, safetext.Line(p.Path))
		if p.Action == "failed" {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(w, "Repair %s partly undone: %d path(s) not restored; undo again once their cause is mended.\n", res.ID, failed)
		return
	}
	fmt.Fprintf(w, "Repair %s undone.\n", res.ID)
}

// WriteHistoryText writes the repairs applied to a target as a table,
// newest first.
func WriteHistoryText(w io.Writer, js []*repair.Journal) error {
	if len(js) == 0 {
		fmt.Fprintln(w, "No repairs recorded.")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tWHEN (UTC)\tSTATUS\tFIXES\tPATHS")
	for _, j := range js {
		var paths []string
		for _, p := range j.Paths {
			paths = append(paths, p.Path)
		}
		ps := safetext.Line(strings.Join(paths, " "))
		if len(ps) > 60 {
			ps = ps[:59] + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", j.ID, j.Created.Format("2006-01-02 15:04:05"), j.Status, len(j.Items), ps)
	}
	return tw.Flush()
}
