package depcheck

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	// go-rpmdb v0.1.1 leaves registering the SQLite driver to its caller.
	_ "github.com/glebarez/go-sqlite"
	gorpmdb "github.com/knqyf263/go-rpmdb/pkg"
	"github.com/stretchr/testify/require"

	"rescue/rpmdb"
)

// The real databases in testdata/rpmdb (from go-rpmdb's own tests).
var realDBs = []struct{ dir, file, format string }{
	{"centos5-plain", "Packages", rpmdb.FormatBDB},
	{"centos7-plain", "Packages", rpmdb.FormatBDB},
	{"centos8-modularitylabel", "Packages", rpmdb.FormatBDB},
	{"ubi8-s390x", "Packages", rpmdb.FormatBDB},
	{"sle15-bci", "Packages.db", rpmdb.FormatNDB},
	{"fedora35", "rpmdb.sqlite", rpmdb.FormatSQLite},
	{"cbl-mariner-2.0", "rpmdb.sqlite", rpmdb.FormatSQLite},
}

// testDB writes the uncompressed database to a temp dir (go-rpmdb opens
// paths, not readers) and returns its path and bytes.
func testDB(t testing.TB, dir, file string) (string, []byte) {
	t.Helper()
	z, err := os.ReadFile(filepath.Join("..", "testdata", "rpmdb", dir, file+".zst"))
	require.NoError(t, err)
	d, err := zstd.NewReader(nil)
	require.NoError(t, err)
	defer d.Close()
	data, err := d.DecodeAll(z, nil)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), file)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p, data
}

func theirs(t testing.TB, p string) ([]string, error) {
	db, err := gorpmdb.Open(p)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	pkgs, err := db.ListPackages()
	var out []string
	for _, pk := range pkgs {
		out = append(out, fmt.Sprintf("%s-%s-%s.%s %d", pk.Name, pk.Version, pk.Release, pk.Arch, len(pk.BaseNames)))
	}
	sort.Strings(out)
	return out, err
}

func ours(t testing.TB, db *rpmdb.DB) []string {
	var out []string
	for _, p := range db.Packages {
		arch := p.Arch
		if p.Name == "gpg-pubkey" {
			arch = ""
		}
		out = append(out, fmt.Sprintf("%s-%s-%s.%s %d", p.Name, p.Version, p.Release, arch, p.NumFiles()))
	}
	sort.Strings(out)
	return out
}

// On sound databases go-rpmdb v0.1.1 lists the same packages with the same
// file counts as rescue: Berkeley DB in both byte orders (ubi8-s390x is
// big-endian), NDB and SQLite.
func TestRpmdbAgreesOnSoundDatabases(t *testing.T) {
	for _, tc := range realDBs {
		t.Run(tc.dir, func(t *testing.T) {
			p, data := testDB(t, tc.dir, tc.file)
			db, err := rpmdb.Parse(tc.format, data, nil)
			require.NoError(t, err)
			got, err := theirs(t, p)
			require.NoError(t, err)
			require.Equal(t, ours(t, db), got)
		})
	}
}

// go-rpmdb opens rpmdb.sqlite with SQLite, read-write: on AlmaLinux 9's
// database (a WAL database, with rpmdb.sqlite-wal and -shm beside it as
// rpm leaves them) one listing checkpoints the log and deletes both files.
// A scan must never write to the disk it scans. rescue parses the file and
// its WAL as bytes.
func TestRpmdbWritesTheDatabase(t *testing.T) {
	const root = "almalinux-9-docker-aarch64-micro-20231124"
	dir := fromCorpus(t, root, "var/lib/rpm")
	rpmDir := filepath.Join(dir, "var/lib/rpm")
	sums := func() map[string]string {
		m := map[string]string{}
		entries, err := os.ReadDir(rpmDir)
		require.NoError(t, err)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(rpmDir, e.Name()))
			require.NoError(t, err)
			m[e.Name()] = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		return m
	}
	before := sums()
	require.Contains(t, before, "rpmdb.sqlite-wal")

	data, err := os.ReadFile(filepath.Join(rpmDir, "rpmdb.sqlite"))
	require.NoError(t, err)
	wal, err := os.ReadFile(filepath.Join(rpmDir, "rpmdb.sqlite-wal"))
	require.NoError(t, err)
	db, err := rpmdb.Parse(rpmdb.FormatSQLite, data, wal)
	require.NoError(t, err)

	got, err := theirs(t, filepath.Join(rpmDir, "rpmdb.sqlite"))
	require.NoError(t, err)
	require.Equal(t, ours(t, db), got, "both read the committed WAL frames")
	after := sums()
	t.Logf("before: %v\nafter:  %v", before, after)
	require.NotEqual(t, before, after,
		"go-rpmdb no longer changes the database it reads: revisit the go-rpmdb line of docs/dependencies.md")
	require.NotContains(t, after, "rpmdb.sqlite-wal")
}

// A Berkeley DB cut in half (a truncated image): go-rpmdb returns an error
// and no package at all; rescue lists the packages on the pages that
// remain and says the file is truncated.
func TestRpmdbTruncatedLosesEverything(t *testing.T) {
	p, data := testDB(t, "centos7-plain", "Packages")
	half := data[:len(data)/2]
	require.NoError(t, os.WriteFile(p, half, 0o644))
	db, err := rpmdb.Parse(rpmdb.FormatBDB, half, nil)
	require.NoError(t, err)
	require.NotEmpty(t, db.Packages)
	require.NotEmpty(t, db.Problems)

	got, err := theirs(t, p)
	t.Logf("rescue: %d packages, %d problems; go-rpmdb: %d packages, error %v", len(db.Packages), len(db.Problems), len(got), err)
	require.Error(t, err)
	require.Empty(t, got, "go-rpmdb now keeps the readable packages of a truncated database: revisit docs/dependencies.md")
}

// One header blob whose index count says 0x7fffffff (a flipped word): rescue
// skips that package with an error and reads the others. go-rpmdb
// allocates the index it claims (32 GiB) before checking it; in a process
// limited to 8 GiB of address space the Go runtime dies with a fatal
// error, which no recover() catches.
func TestRpmdbCorruptHeaderKillsTheProcess(t *testing.T) {
	if p := os.Getenv("DEPCHECK_RPMDB_CHILD"); p != "" {
		theirs(t, p)
		return
	}
	p, data := testDB(t, "centos7-plain", "Packages")
	full, err := rpmdb.Parse(rpmdb.FormatBDB, data, nil)
	require.NoError(t, err)
	bad := corruptHeader(t, data, len(full.Packages)-1)
	require.NoError(t, os.WriteFile(p, bad, 0o644))
	db, err := rpmdb.Parse(rpmdb.FormatBDB, bad, nil)
	require.NoError(t, err)
	require.Len(t, db.Packages, len(full.Packages)-1)
	require.ErrorIs(t, db.Problems[0], rpmdb.ErrHeader)

	cmd := exec.Command("sh", "-c", `ulimit -v 8388608 && exec "$0" "$@"`, os.Args[0], "-test.run=^TestRpmdbCorruptHeaderKillsTheProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DEPCHECK_RPMDB_CHILD="+p)
	out, err := cmd.CombinedOutput()
	t.Logf("go-rpmdb on the corrupt header: %v\n%s", err, firstLines(string(out), 3))
	require.Error(t, err, "go-rpmdb no longer dies on an impossible index count: revisit docs/dependencies.md")
	require.Contains(t, string(out), "fatal error")
}

// corruptHeader sets the index count of one live header blob of a
// Berkeley DB to 0x7fffffff. A blob starts with its index count and data
// length, then the region entry (tag 63, HEADERIMMUTABLE, of type BIN);
// free pages keep stale copies, so the first blob whose change costs
// rescue a package is the live one.
func corruptHeader(t *testing.T, data []byte, want int) []byte {
	region := []byte{0, 0, 0, 63, 0, 0, 0, 7}
	for off := 0; ; {
		i := bytes.Index(data[off:], region)
		require.GreaterOrEqual(t, i, 0, "no live header blob found")
		off += i + len(region)
		bad := bytes.Clone(data)
		binary.BigEndian.PutUint32(bad[off-len(region)-8:], 0x7fffffff)
		if db, err := rpmdb.Parse(rpmdb.FormatBDB, bad, nil); err == nil && len(db.Packages) == want {
			return bad
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// BenchmarkRpmdb lists every package and its files with rescue's reader
// and with go-rpmdb, from the same file on disk.
func BenchmarkRpmdb(b *testing.B) {
	type input struct{ name, path, format, wal string }
	var inputs []input
	for _, tc := range realDBs {
		p, _ := testDB(b, tc.dir, tc.file)
		inputs = append(inputs, input{tc.dir, p, tc.format, ""})
	}
	if corpusDir() != "" {
		dir := fromCorpus(b, "almalinux-9-docker-s390x-micro-20231124", "var/lib/rpm")
		inputs = append(inputs, input{"alma9-s390x", filepath.Join(dir, "var/lib/rpm/rpmdb.sqlite"), rpmdb.FormatSQLite, filepath.Join(dir, "var/lib/rpm/rpmdb.sqlite-wal")})
		dir = fromCorpus(b, "almalinux-8-docker-s390x-micro-20231122", "var/lib/rpm")
		inputs = append(inputs, input{"alma8-s390x", filepath.Join(dir, "var/lib/rpm/Packages"), rpmdb.FormatBDB, ""})
	}
	for _, in := range inputs {
		b.Run(in.name+"/rescue", func(b *testing.B) {
			for b.Loop() {
				data, err := os.ReadFile(in.path)
				if err != nil {
					b.Fatal(err)
				}
				var wal []byte
				if in.wal != "" {
					wal, _ = os.ReadFile(in.wal)
				}
				db, err := rpmdb.Parse(in.format, data, wal)
				if err != nil {
					b.Fatal(err)
				}
				for _, p := range db.Packages {
					p.Files()
				}
			}
		})
		b.Run(in.name+"/go-rpmdb", func(b *testing.B) {
			// A copy per run: go-rpmdb checkpoints a WAL database it
			// opens, and the next run would read a different file.
			src, err := os.ReadFile(in.path)
			if err != nil {
				b.Fatal(err)
			}
			var wal []byte
			if in.wal != "" {
				wal, _ = os.ReadFile(in.wal)
			}
			dir := b.TempDir()
			p := filepath.Join(dir, filepath.Base(in.path))
			for b.Loop() {
				b.StopTimer()
				os.WriteFile(p, src, 0o644)
				if wal != nil {
					os.WriteFile(p+"-wal", wal, 0o644)
				}
				b.StartTimer()
				db, err := gorpmdb.Open(p)
				if err != nil {
					b.Fatal(err)
				}
				pkgs, err := db.ListPackages()
				if err != nil {
					b.Fatal(err)
				}
				for _, pk := range pkgs {
					pk.InstalledFiles()
				}
				db.Close()
			}
		})
	}
}
