package rpmdb

import (
	"bytes"
	"encoding/binary"
	"hash/adler32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func names(db *DB) map[string]bool {
	m := map[string]bool{}
	for _, p := range db.Packages {
		m[p.Name] = true
	}
	return m
}

// A truncated Berkeley DB keeps the packages on the pages that remain and
// says that it is truncated.
func TestTruncatedBDB(t *testing.T) {
	data := testDB(t, "centos7-plain", "Packages")
	full, err := Parse(FormatBDB, data, nil)
	require.NoError(t, err)
	half, err := Parse(FormatBDB, data[:len(data)/2], nil)
	require.NoError(t, err)
	require.NotEmpty(t, half.Packages)
	require.Less(t, len(half.Packages), len(full.Packages))
	require.NotEmpty(t, half.Problems)
	require.Contains(t, half.Problems[0].Error(), "truncated")
	for n := range names(half) {
		require.True(t, names(full)[n])
	}

	_, err = Parse(FormatBDB, data[:100], nil)
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = Parse(FormatBDB, bytes.Repeat([]byte{0xff}, 8192), nil)
	require.ErrorIs(t, err, ErrCorrupt)
}

// A header with an impossible index count is skipped with a clear error;
// every other package is still read.
func TestCorruptHeaderInBDB(t *testing.T) {
	data := testDB(t, "centos7-plain", "Packages")
	blobs, _, err := readBDBBytes(data)
	require.NoError(t, err)
	victim := blobs[3].Data
	i := bytes.Index(data, victim[:64])
	require.Positive(t, i)
	bad := bytes.Clone(data)
	binary.BigEndian.PutUint32(bad[i:], 0x7fffffff) // il
	db, err := Parse(FormatBDB, bad, nil)
	require.NoError(t, err)
	require.Len(t, db.Packages, len(blobs)-1)
	require.Len(t, db.Problems, 1)
	require.ErrorIs(t, db.Problems[0], ErrHeader)
	require.Contains(t, db.Problems[0].Error(), "impossible index count")
}

func TestCorruptNDB(t *testing.T) {
	data := bytes.Clone(testDB(t, "sle15-bci", "Packages.db"))
	full, err := Parse(FormatNDB, data, nil)
	require.NoError(t, err)
	// Flip one byte inside the first blob: its checksum no longer holds.
	slot := data[2*16 : 3*16]
	off := binary.LittleEndian.Uint32(slot[8:]) * ndbBlock
	data[off+100] ^= 0xff
	db, err := Parse(FormatNDB, data, nil)
	require.NoError(t, err)
	require.Len(t, db.Packages, len(full.Packages)-1)
	require.Len(t, db.Problems, 1)
	require.Contains(t, db.Problems[0].Error(), "checksum mismatch")

	_, err = Parse(FormatNDB, data[:4000], nil)
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestTruncatedSQLite(t *testing.T) {
	data := testDB(t, "fedora35", "rpmdb.sqlite")
	full, err := Parse(FormatSQLite, data, nil)
	require.NoError(t, err)
	db, err := Parse(FormatSQLite, data[:len(data)*2/3], nil)
	if err == nil {
		require.NotEmpty(t, db.Problems)
		require.Less(t, len(db.Packages), len(full.Packages))
	} else {
		require.ErrorIs(t, err, ErrCorrupt)
	}
	_, err = Parse(FormatSQLite, []byte("SQLite format 3\x00"), nil)
	require.ErrorIs(t, err, ErrCorrupt)
}

// A database in WAL mode with committed transactions still in the log: the
// log's state is what rpm would see. The log is made by sqlite3 itself,
// copied while the connection is open so that no checkpoint folds it in.
func TestSQLiteWAL(t *testing.T) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Skip("sqlite3 is not installed (apt-get install sqlite3)")
	}
	data := testDB(t, "fedora35", "rpmdb.sqlite")
	base, err := Parse(FormatSQLite, data, nil)
	require.NoError(t, err)
	require.True(t, names(base)["bash"])

	dir := t.TempDir()
	live := filepath.Join(dir, "live")
	snap := filepath.Join(dir, "snap")
	require.NoError(t, os.Mkdir(live, 0o755))
	require.NoError(t, os.Mkdir(snap, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(live, "rpmdb.sqlite"), data, 0o644))
	// Delete bash and change the bytes of another row, in two
	// transactions; then a third transaction that never commits cannot
	// be produced with the CLI, so the tail is cut by hand below.
	script := strings.Join([]string{
		"PRAGMA journal_mode=WAL;",
		"PRAGMA wal_autocheckpoint=0;",
		"DELETE FROM Packages WHERE hnum = (SELECT hnum FROM Name WHERE key = 'bash');",
		"BEGIN; DELETE FROM Packages WHERE hnum = (SELECT hnum FROM Name WHERE key = 'tzdata'); COMMIT;",
		".shell cp " + filepath.Join(live, "rpmdb.sqlite") + " " + filepath.Join(live, "rpmdb.sqlite-wal") + " " + snap,
		"",
	}, "\n")
	cmd := exec.Command("sqlite3", filepath.Join(live, "rpmdb.sqlite"))
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	db0, err := os.ReadFile(filepath.Join(snap, "rpmdb.sqlite"))
	require.NoError(t, err)
	wal, err := os.ReadFile(filepath.Join(snap, "rpmdb.sqlite-wal"))
	require.NoError(t, err)
	require.NotEmpty(t, wal, "the log holds the transactions")

	noLog, err := Parse(FormatSQLite, db0, nil)
	require.NoError(t, err)
	require.True(t, names(noLog)["bash"], "the main file alone predates the deletes")

	withLog, err := Parse(FormatSQLite, db0, wal)
	require.NoError(t, err)
	require.Empty(t, withLog.Problems)
	require.False(t, names(withLog)["bash"])
	require.False(t, names(withLog)["tzdata"])
	require.Len(t, withLog.Packages, len(base.Packages)-2)

	// A log cut inside its last transaction: that transaction did not
	// commit, the earlier one did.
	ps := int(binary.BigEndian.Uint32(wal[8:]))
	frames := (len(wal) - 32) / (24 + ps)
	var commits []int
	for i := 0; i < frames; i++ {
		if binary.BigEndian.Uint32(wal[32+i*(24+ps)+4:]) != 0 {
			commits = append(commits, i)
		}
	}
	require.Len(t, commits, 2)
	cut := wal[:32+commits[1]*(24+ps)+100]
	partial, err := Parse(FormatSQLite, db0, cut)
	require.NoError(t, err)
	require.False(t, names(partial)["bash"], "the first transaction committed")
	require.True(t, names(partial)["tzdata"], "the second did not")

	// A log whose header checksum is wrong is ignored, with a problem.
	badLog := bytes.Clone(wal)
	badLog[24] ^= 1
	ignored, err := Parse(FormatSQLite, db0, badLog)
	require.NoError(t, err)
	require.True(t, names(ignored)["bash"])
	require.NotEmpty(t, ignored.Problems)
}

// ndbFile builds a one-package NDB file around a header blob, the way
// rpmpkg.c lays it out, for fuzz seeds.
func ndbFile(blob []byte) []byte {
	le := binary.LittleEndian
	out := make([]byte, ndbPage)
	le.PutUint32(out[0:], ndbMagic)
	le.PutUint32(out[12:], 1)
	for s := ndbFirstSlots; s < ndbPage/16; s++ {
		le.PutUint32(out[s*16:], ndbSlotMagic)
	}
	blkoff := uint32(ndbPage / ndbBlock)
	blkcnt := uint32((ndbHead + len(blob) + ndbTail + ndbBlock - 1) / ndbBlock)
	le.PutUint32(out[2*16+4:], 1)
	le.PutUint32(out[2*16+8:], blkoff)
	le.PutUint32(out[2*16+12:], blkcnt)
	b := make([]byte, blkcnt*ndbBlock)
	le.PutUint32(b[0:], ndbBlobMagic)
	le.PutUint32(b[4:], 1)
	le.PutUint32(b[12:], uint32(len(blob)))
	copy(b[ndbHead:], blob)
	tail := b[len(b)-ndbTail:]
	le.PutUint32(tail[0:], adler32.Checksum(b[:len(b)-ndbTail]))
	le.PutUint32(tail[4:], uint32(len(blob)))
	le.PutUint32(tail[8:], ndbTailMagic)
	return append(out, b...)
}

func TestNDBFileBuilder(t *testing.T) {
	blobs, _, err := readBDBBytes(testDB(t, "libuuid", "Packages"))
	require.NoError(t, err)
	db, err := Parse(FormatNDB, ndbFile(blobs[0].Data), nil)
	require.NoError(t, err)
	require.Len(t, db.Packages, 1)
	require.Equal(t, "libuuid", db.Packages[0].Name)
}

func FuzzParseHeader(f *testing.F) {
	blobs, _, err := readBDBBytes(testDB(f, "libuuid", "Packages"))
	require.NoError(f, err)
	for _, b := range blobs {
		f.Add(b.Data)
	}
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 3, 0xe8, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 'b', 'c', 0})
	f.Fuzz(func(t *testing.T, blob []byte) {
		h, err := ParseHeader(blob)
		if err != nil {
			return
		}
		for _, tag := range h.Tags() {
			h.String(tag)
			h.Strings(tag)
			h.Ints(tag)
			h.Bytes(tag)
		}
		if p, err := NewPackage(h); err == nil {
			for _, f := range p.Files() {
				require.True(t, strings.HasPrefix(f.Path, "/"), f.Path)
			}
		}
	})
}

func FuzzParseDB(f *testing.F) {
	data := testDB(f, "libuuid", "Packages")
	blobs, _, err := readBDBBytes(data)
	require.NoError(f, err)
	f.Add(byte(0), data)
	f.Add(byte(1), ndbFile(blobs[0].Data))
	sq := testDB(f, "cbl-mariner-2.0", "rpmdb.sqlite")
	f.Add(byte(2), sq[:16384])
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		format := []string{FormatBDB, FormatNDB, FormatSQLite}[int(kind)%3]
		db, err := Parse(format, data, nil)
		if err == nil {
			require.NotNil(t, db)
		}
		if format == FormatSQLite && len(data) > 32 {
			Parse(format, data, data[len(data)/2:])
		}
	})
}

func readBDBBytes(data []byte) ([]Blob, []error, error) {
	return readBDB(bytes.NewReader(data), int64(len(data)))
}
