package journal

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"rescue/parse/journal/journaltest"
)

// BenchmarkReadVsJournalctl reads a journal file of 100,000 entries
// (compact, zstd, as Debian 12's journald writes them) with the reader and
// with `journalctl --file FILE -o export`, which an operator would run,
// alternating, and reports the ratio journalctl/rescue: above 1 means the
// reader is faster.
func BenchmarkReadVsJournalctl(b *testing.B) {
	if _, err := exec.LookPath("journalctl"); err != nil {
		b.Skip("journalctl not found (Debian package systemd)")
	}
	boot := [16]byte{1}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var es []journaltest.Entry
	for i := range 100000 {
		es = append(es, journaltest.Entry{Realtime: t0.Add(time.Duration(i) * time.Millisecond), Monotonic: time.Duration(i) * time.Millisecond, BootID: boot,
			Fields: []string{"_TRANSPORT=journal", "SYSLOG_IDENTIFIER=app", "PRIORITY=6", "_SYSTEMD_UNIT=app.service",
				fmt.Sprintf("MESSAGE=request %d served in %d ms for client 203.0.113.%d with a body long enough to be a real log line", i, i%997, i%250)}})
	}
	p := filepath.Join(b.TempDir(), "system.journal")
	if err := os.WriteFile(p, journaltest.Write(journaltest.Options{Compact: true, Compress: "zstd", CompressMin: 100}, es), 0o644); err != nil {
		b.Fatal(err)
	}
	read := func() {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		st, _ := f.Stat()
		j, err := Open(f, st.Size())
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		if _, err := j.Entries(func(*Entry) error { n++; return nil }); err != nil || n != len(es) {
			b.Fatalf("read %d entries: %v", n, err)
		}
	}
	export := func() {
		cmd := exec.Command("journalctl", "--file", p, "-o", "export", "--no-pager")
		cmd.Stdout = io.Discard
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
	read()
	export()
	var ours, theirs time.Duration
	for b.Loop() {
		t1 := time.Now()
		read()
		t2 := time.Now()
		export()
		ours, theirs = ours+t2.Sub(t1), theirs+time.Since(t2)
	}
	b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "rescue-ns/op")
	b.ReportMetric(float64(theirs.Nanoseconds())/float64(b.N), "journalctl-ns/op")
	b.ReportMetric(float64(theirs)/float64(ours), "journalctl/rescue")
}
