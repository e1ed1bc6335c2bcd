package journal

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ulikunitz/xz"

	"rescue/parse/journal/journaltest"
)

var boot1 = [16]byte{0xb0, 0x07, 1}
var boot2 = [16]byte{0xb0, 0x07, 2}

// sample is a short boot and the start of the next: kernel lines, a long
// unit message (compressed where the file compresses), a field with a
// newline and one with binary bytes.
func sample() []journaltest.Entry {
	t0 := time.Date(2026, 12, 1, 1, 54, 3, 0, time.UTC)
	long := "Failed to start data.mount - /data: " + strings.Repeat("dependency detail ", 20)
	return []journaltest.Entry{
		{Realtime: t0, Monotonic: 1500 * time.Microsecond, BootID: boot1, Fields: []string{
			"_TRANSPORT=kernel", "PRIORITY=5", "SYSLOG_IDENTIFIER=kernel", "MESSAGE=Linux version 6.1.0-57-amd64"}},
		{Realtime: t0.Add(time.Second), Monotonic: time.Second, BootID: boot1, Fields: []string{
			"_TRANSPORT=kernel", "PRIORITY=6", "MESSAGE=Memory: 985432K/1048040K available (14336K kernel code)"}},
		{Realtime: t0.Add(90 * time.Second), Monotonic: 91 * time.Second, BootID: boot1, Fields: []string{
			"_TRANSPORT=journal", "PRIORITY=3", "SYSLOG_IDENTIFIER=systemd", "_SYSTEMD_UNIT=init.scope", "UNIT=data.mount",
			"MESSAGE=" + long, "CODE_FILE=a\nb", "BINARY=\x00\x01\xff"}},
		{Realtime: t0.Add(time.Hour), Monotonic: 2 * time.Second, BootID: boot2, Fields: []string{
			"_TRANSPORT=kernel", "PRIORITY=5", "MESSAGE=Linux version 6.1.0-57-amd64"}},
	}
}

func readAll(t *testing.T, data []byte) ([]*Entry, Stats) {
	t.Helper()
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	var out []*Entry
	st, err := f.Entries(func(e *Entry) error { out = append(out, e); return nil })
	require.NoError(t, err)
	return out, st
}

func fieldStrings(e *Entry) []string {
	var s []string
	for _, f := range e.Fields {
		s = append(s, f.Name+"="+string(f.Value))
	}
	return s
}

var variants = []journaltest.Options{
	{}, {Compact: true},
	{Compress: "xz"}, {Compress: "lz4"}, {Compress: "zstd"},
	{Compact: true, Compress: "xz"}, {Compact: true, Compress: "lz4"}, {Compact: true, Compress: "zstd"},
}

func name(o journaltest.Options) string {
	s := "regular"
	if o.Compact {
		s = "compact"
	}
	if o.Compress != "" {
		s += "-" + o.Compress
	}
	return s
}

// TestReadsWhatWasWritten reads every layout and compression back, entry by
// entry and field by field, and checks the header.
func TestReadsWhatWasWritten(t *testing.T) {
	want := sample()
	for _, o := range variants {
		t.Run(name(o), func(t *testing.T) {
			data := journaltest.Write(o, want)
			got, st := readAll(t, data)
			assert.Empty(t, st.Damage)
			require.Len(t, got, len(want))
			for i, e := range got {
				assert.Equal(t, want[i].Fields, fieldStrings(e))
				assert.Equal(t, want[i].Realtime, e.Realtime)
				assert.Equal(t, want[i].Monotonic, e.Monotonic)
				assert.Equal(t, ID128(want[i].BootID), e.BootID)
				assert.Equal(t, uint64(i+1), e.Seqnum)
			}
			f, err := Open(bytes.NewReader(data), int64(len(data)))
			require.NoError(t, err)
			assert.Equal(t, o.Compact, f.Header.Compact())
			assert.Equal(t, Offline, f.Header.State)
			assert.Equal(t, uint64(len(want)), f.Header.NEntries)
		})
	}
}

// TestMatchesJournalctl checks the reader against systemd's own: the host's
// journalctl reads the same files (-o export) and must list the same
// entries with the same fields. This is what makes the test writer's files
// real journal files and not just files this reader agrees with.
func TestMatchesJournalctl(t *testing.T) {
	if _, err := exec.LookPath("journalctl"); err != nil {
		t.Skip("journalctl not found (Debian package systemd): the cross-check with systemd's reader did not run")
	}
	for _, o := range variants {
		t.Run(name(o), func(t *testing.T) {
			data := journaltest.Write(o, sample())
			p := filepath.Join(t.TempDir(), "system.journal")
			require.NoError(t, os.WriteFile(p, data, 0o644))
			ref := journalctlExport(t, p)
			got, _ := readAll(t, data)
			require.Len(t, got, len(ref))
			for i, e := range got {
				assert.Equal(t, ref[i], fieldStrings(e), "entry %d", i)
			}
		})
	}
}

// journalctlExport lists the entries of a file as journalctl -o export
// prints them, without the fields it adds (__CURSOR and the like, and the
// _BOOT_ID it takes from the entry header).
func journalctlExport(t *testing.T, path string) [][]string {
	t.Helper()
	out, err := exec.Command("journalctl", "--file", path, "-o", "export", "--no-pager").Output()
	require.NoError(t, err)
	var entries [][]string
	var cur []string
	r := bufio.NewReader(bytes.NewReader(out))
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if cur != nil {
				entries = append(entries, cur)
			}
			cur = nil
		case strings.Contains(line, "="):
			if !strings.HasPrefix(line, "__") && !strings.HasPrefix(line, "_BOOT_ID=") {
				cur = append(cur, line)
			}
		default:
			// A binary field: NAME, a 64-bit length, the bytes, \n.
			var n [8]byte
			_, err := io.ReadFull(r, n[:])
			require.NoError(t, err)
			v := make([]byte, binary.LittleEndian.Uint64(n[:])+1)
			_, err = io.ReadFull(r, v)
			require.NoError(t, err)
			cur = append(cur, line+"="+string(v[:len(v)-1]))
		}
	}
	if cur != nil {
		entries = append(entries, cur)
	}
	return entries
}

// TestDirtyFile reads a file a writer left online, whose header and index
// do not know the last two entries (as after a crash): the walk in file
// order still finds them. journalctl, which follows the index, does not.
func TestDirtyFile(t *testing.T) {
	want := sample()
	for _, o := range variants {
		t.Run(name(o), func(t *testing.T) {
			o.Online, o.Unindexed = true, 2
			data := journaltest.Write(o, want)
			got, st := readAll(t, data)
			assert.Empty(t, st.Damage)
			require.Len(t, got, len(want))
			assert.Equal(t, "MESSAGE=Linux version 6.1.0-57-amd64", fieldStrings(got[3])[2])
			f, _ := Open(bytes.NewReader(data), int64(len(data)))
			assert.Equal(t, Online, f.Header.State)
			assert.Equal(t, uint64(2), f.Header.NEntries)
		})
	}
}

// TestTruncatedTail cuts a file at every length inside its last entry and
// its last data objects: the reader returns the whole entries before the
// cut, says where the damage is, and never fails.
func TestTruncatedTail(t *testing.T) {
	want := sample()
	for _, o := range []journaltest.Options{{Compact: true, Compress: "zstd"}, {Compress: "xz"}} {
		full := journaltest.Write(o, want)
		got, _ := readAll(t, full)
		last := got[len(got)-1].Offset
		for cut := last - 200; cut < int64(len(full)); cut++ {
			data := full[:cut]
			f, err := Open(bytes.NewReader(data), cut)
			require.NoError(t, err)
			var n int
			_, err = f.Entries(func(*Entry) error { n++; return nil })
			require.NoError(t, err)
			assert.GreaterOrEqual(t, n, len(want)-2, "cut at %d", cut)
			assert.LessOrEqual(t, n, len(want))
		}
	}
}

// TestDamageInTheMiddle zeroes an object in the middle of the file: the
// walk stops there, and the index still gives the entries after it.
func TestDamageInTheMiddle(t *testing.T) {
	o := journaltest.Options{Compact: true}
	data := journaltest.Write(o, sample())
	got, _ := readAll(t, data)
	// Overwrite the header of the object right after the first entry
	// (the second entry's first DATA object) with a type no journal has.
	size := binary.LittleEndian.Uint64(data[got[0].Offset+8:])
	hole := got[0].Offset + int64(align8(size))
	require.Equal(t, byte(objData), data[hole])
	copy(data[hole:hole+16], make([]byte, 16))
	data[hole] = 0x55
	after, st := readAll(t, data)
	assert.NotEmpty(t, st.Damage)
	assert.Greater(t, st.Indexed, 0)
	assert.Len(t, after, len(got))
}

func TestNotAJournal(t *testing.T) {
	for _, data := range [][]byte{[]byte("hello world, this is a text log\n"), bytes.Repeat([]byte("x"), 400)} {
		_, err := Open(bytes.NewReader(data), int64(len(data)))
		assert.ErrorIs(t, err, ErrNotJournal)
	}
	data := journaltest.Write(journaltest.Options{}, sample())
	binary.LittleEndian.PutUint32(data[12:], 1<<9)
	_, err := Open(bytes.NewReader(data), int64(len(data)))
	assert.ErrorContains(t, err, "incompatible flags")
}

// TestCompressionBomb: a field that decompresses past MaxPayload is cut
// there and marked, not read whole.
func TestCompressionBomb(t *testing.T) {
	big := "MESSAGE=" + strings.Repeat("A", 3*MaxPayload)
	for _, alg := range []string{"xz", "zstd"} {
		data := journaltest.Write(journaltest.Options{Compress: alg}, []journaltest.Entry{
			{Realtime: time.Unix(1, 0), BootID: boot1, Fields: []string{big, "PRIORITY=3"}},
		})
		got, _ := readAll(t, data)
		require.Len(t, got, 1)
		assert.True(t, got[0].Fields[0].Truncated, alg)
		assert.Len(t, got[0].Fields[0].Value, MaxPayload-len("MESSAGE="))
	}
	// lz4 says its size up front: a field above the limit is left out.
	data := journaltest.Write(journaltest.Options{Compress: "lz4"}, []journaltest.Entry{
		{Realtime: time.Unix(1, 0), BootID: boot1, Fields: []string{big, "PRIORITY=3"}},
	})
	got, _ := readAll(t, data)
	require.Len(t, got, 1)
	assert.Equal(t, []string{"PRIORITY=3"}, fieldStrings(got[0]))
}

// TestEntryBounds: an entry with more fields than MaxFields keeps the
// first MaxFields.
func TestEntryBounds(t *testing.T) {
	var fields []string
	for i := range MaxFields + 500 {
		fields = append(fields, fmt.Sprintf("F%d=%d", i, i))
	}
	data := journaltest.Write(journaltest.Options{Compact: true}, []journaltest.Entry{{Realtime: time.Unix(1, 0), BootID: boot1, Fields: fields}})
	got, _ := readAll(t, data)
	require.Len(t, got, 1)
	assert.Len(t, got[0].Fields, MaxFields)
	assert.Equal(t, "F0=0", fieldStrings(got[0])[0])
}

func TestStop(t *testing.T) {
	data := journaltest.Write(journaltest.Options{}, sample())
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	n := 0
	_, err = f.Entries(func(*Entry) error {
		n++
		if n == 2 {
			return Stop
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	boom := errors.New("boom")
	_, err = f.Entries(func(*Entry) error { return boom })
	assert.ErrorIs(t, err, boom)
}

func FuzzEntries(f *testing.F) {
	for _, o := range variants {
		f.Add(journaltest.Write(o, sample()))
	}
	o := journaltest.Options{Compact: true, Compress: "zstd", Online: true, Unindexed: 1}
	f.Add(journaltest.Write(o, sample()))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		n := 0
		st, err := j.Entries(func(e *Entry) error {
			n++
			for _, fd := range e.Fields {
				if len(fd.Value) > MaxPayload {
					return fmt.Errorf("field of %d bytes", len(fd.Value))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if st.Entries != n {
			t.Fatalf("stats say %d entries, saw %d", st.Entries, n)
		}
		_ = strconv.Itoa(n)
	})
}

// TestRealFiles reads journal files written by systemd-journald itself
// (Debian 12's, compact and zstd: e2e images that failed to boot, stopped
// as they were) and checks every entry and field against journalctl.
func TestRealFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/real/*.journal.xz")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data := unxz(t, f)
			got, st := readAll(t, data)
			require.NotEmpty(t, got)
			j, _ := Open(bytes.NewReader(data), int64(len(data)))
			t.Logf("%d entries, state %s, damage %q", len(got), j.Header.State, st.Damage)
			// Cut where the last page the kernel wrote back might end:
			// the entries before the cut are read as they were.
			first, last := got[0].Offset, got[len(got)-1].Offset
			for _, cut := range []int64{first + (last-first)/2, first + (last-first)*3/4, last + 8} {
				part, _ := readAll(t, data[:cut])
				require.NotEmpty(t, part)
				require.Less(t, len(part), len(got))
				for i := range part {
					require.Equal(t, fieldStrings(got[i]), fieldStrings(part[i]), "cut at %d, entry %d", cut, i)
				}
			}
			if _, err := exec.LookPath("journalctl"); err != nil {
				t.Skip("journalctl not found (Debian package systemd): the cross-check with systemd's reader did not run")
			}
			p := filepath.Join(t.TempDir(), "system.journal")
			require.NoError(t, os.WriteFile(p, data, 0o644))
			ref := journalctlExport(t, p)
			// journalctl lists what the index links; the walk may
			// find more in a file whose writer died.
			require.GreaterOrEqual(t, len(got), len(ref))
			for i := range ref {
				assert.Equal(t, ref[i], withoutBootID(fieldStrings(got[i])), "entry %d", i)
			}
		})
	}
}

// withoutBootID drops the _BOOT_ID field: journalctl prints the entry
// header's boot id in its place, which journalctlExport leaves out.
func withoutBootID(fs []string) []string {
	var out []string
	for _, f := range fs {
		if !strings.HasPrefix(f, "_BOOT_ID=") {
			out = append(out, f)
		}
	}
	return out
}

func unxz(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	r, err := xz.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	out, err := io.ReadAll(r)
	require.NoError(t, err)
	return out
}
