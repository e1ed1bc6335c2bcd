package evidence

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"rescue/parse/journal"
	"rescue/sysroot"
)

// journalDir is where a persistent journal lives. /run/log/journal is a
// tmpfs on the running system: a disk never holds it.
const journalDir = "/var/log/journal"

// maxJournalFiles bounds how many journal files are opened (journald keeps
// a few dozen at most under its default limits).
const maxJournalFiles = 512

// journalFile is a system journal file of the target.
type journalFile struct {
	path  string
	f     *journal.File
	close func() error
}

type bootSpan struct {
	id          journal.ID128
	first, last time.Time
}

// systemJournals lists the system journal files (system.journal, rotated
// system@….journal, and system@….journal~ that journald set aside as not
// closed cleanly). User journals (user-UID.journal) hold a user's own
// services only; the boot's story is in the system journal.
func systemJournals(root *sysroot.Root) []string {
	var out []string
	for _, pat := range []string{journalDir + "/*/system*.journal", journalDir + "/*/system*.journal~", journalDir + "/system*.journal"} {
		m, _ := root.Glob(pat)
		out = append(out, m...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// readJournal returns the analyses of the journal's last boot and the one
// before it, with notes on what could not be read.
func readJournal(root *sysroot.Root) ([]*Analysis, []string) {
	var notes []string
	paths := systemJournals(root)
	if len(paths) == 0 {
		return nil, nil
	}
	if len(paths) > maxJournalFiles {
		notes = append(notes, fmt.Sprintf("%d journal files: only the newest %d were read", len(paths), maxJournalFiles))
	}
	var files []*journalFile
	defer func() {
		for _, jf := range files {
			jf.close()
		}
	}()
	for _, p := range paths {
		fh, err := root.Open(p)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		st, err := fh.Stat()
		if err != nil {
			fh.Close()
			continue
		}
		f, err := journal.Open(fh, st.Size())
		if err != nil {
			fh.Close()
			notes = append(notes, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		files = append(files, &journalFile{path: p, f: f, close: fh.Close})
	}
	// Newest first by the last entry's time the header records (for a
	// file whose writer died the header may lag, but not by a boot).
	slices.SortStableFunc(files, func(a, b *journalFile) int {
		ta, tb := a.f.Header.TailEntryRealtime, b.f.Header.TailEntryRealtime
		switch {
		case ta > tb:
			return -1
		case ta < tb:
			return 1
		}
		return 0
	})
	if len(files) > maxJournalFiles {
		files = files[:maxJournalFiles]
	}
	// Which boots, newest first: walk the files' entry heads from the
	// newest file back until a third boot shows up (files are in time
	// order, so an older file holds only that boot or older ones).
	var order []journal.ID128
	spans := map[journal.ID128]*bootSpan{}
	var used []*journalFile
	for _, jf := range files {
		var ids []journal.ID128
		_, err := jf.f.Heads(func(e *journal.Entry) error {
			if e.BootID.IsZero() {
				return nil
			}
			s := spans[e.BootID]
			if s == nil {
				s = &bootSpan{id: e.BootID, first: e.Realtime, last: e.Realtime}
				spans[e.BootID] = s
			}
			if !e.Realtime.IsZero() && (s.first.IsZero() || e.Realtime.Before(s.first)) {
				s.first = e.Realtime
			}
			if e.Realtime.After(s.last) {
				s.last = e.Realtime
			}
			if !slices.Contains(ids, e.BootID) {
				ids = append(ids, e.BootID)
			}
			return nil
		})
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: %v", jf.path, err))
		}
		for _, id := range ids {
			if !slices.Contains(order, id) {
				order = append(order, id)
			}
		}
		used = append(used, jf)
		if len(order) >= 3 {
			break
		}
	}
	// order lists boots as met newest file first, but within a file in
	// time order: sort by the boots' last entries.
	slices.SortStableFunc(order, func(a, b journal.ID128) int { return spans[b].last.Compare(spans[a].last) })
	if len(order) > 2 {
		order = order[:2]
	}
	// Read the files holding those boots in time order, one analysis
	// per boot.
	slices.Reverse(used)
	var out []*Analysis
	for i, id := range order {
		which := "last"
		if i == 1 {
			which = "previous"
		}
		a := &Analysis{Source: "journal", Boot: which, BootID: id.String()}
		z := newAnalyzer(a, false)
		for _, jf := range used {
			in := false
			st, err := jf.f.Entries(func(e *journal.Entry) error {
				if e.BootID != id {
					return nil
				}
				in = true
				z.add(journalLine(e))
				return nil
			})
			if err != nil {
				notes = append(notes, fmt.Sprintf("%s: %v", jf.path, err))
			}
			if in {
				a.Files = append(a.Files, jf.path)
				if d := describeDamage(jf, st); d != "" {
					a.Damage = append(a.Damage, d)
				}
			}
		}
		out = append(out, z.finish())
	}
	return out, notes
}

// describeDamage says what was wrong with a journal file, if anything.
func describeDamage(jf *journalFile, st journal.Stats) string {
	var parts []string
	name := path.Base(jf.path)
	if strings.HasSuffix(name, "~") {
		parts = append(parts, "set aside by journald as not closed cleanly")
	} else if jf.f.Header.State == journal.Online {
		parts = append(parts, "not closed (its writer died or the machine stopped)")
	}
	if st.Damage != "" {
		parts = append(parts, "read up to the damage: "+st.Damage)
	}
	if st.Indexed > 0 {
		parts = append(parts, fmt.Sprintf("%d entries past it found through the index", st.Indexed))
	}
	if st.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d entries not whole", st.Skipped))
	}
	if len(parts) == 0 {
		return ""
	}
	return jf.path + ": " + strings.Join(parts, "; ")
}

// journalLine turns an entry into a Line.
func journalLine(e *journal.Entry) Line {
	l := Line{Source: "journal", Time: e.Realtime, Uptime: e.Monotonic, HasUptime: true, Text: e.Value("MESSAGE")}
	l.Ident = e.Value("SYSLOG_IDENTIFIER")
	if l.Ident == "" {
		l.Ident = e.Value("_COMM")
	}
	if e.Value("_TRANSPORT") == "kernel" {
		l.Ident = "kernel"
	}
	l.Unit = e.Value("UNIT")
	if l.Unit == "" {
		l.Unit = e.Value("_SYSTEMD_UNIT")
	}
	// A message may hold several lines (a traceback): the first says
	// what it is.
	l.Text, _, _ = strings.Cut(l.Text, "\n")
	return l
}
