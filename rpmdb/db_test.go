package rpmdb

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
)

// The real databases go-rpmdb ships, compressed (see testdata/rpmdb/README).
var realDBs = []struct {
	dir, file, format string
}{
	{"libuuid", "Packages", FormatBDB},
	{"centos5-plain", "Packages", FormatBDB},
	{"centos6-plain", "Packages", FormatBDB},
	{"centos7-plain", "Packages", FormatBDB},
	{"centos8-modularitylabel", "Packages", FormatBDB},
	{"ubi8-s390x", "Packages", FormatBDB},
	{"sle15-bci", "Packages.db", FormatNDB},
	{"fedora35", "rpmdb.sqlite", FormatSQLite},
	{"cbl-mariner-2.0", "rpmdb.sqlite", FormatSQLite},
}

// testDB returns the uncompressed bytes of a database in testdata/rpmdb.
func testDB(t testing.TB, dir, file string) []byte {
	t.Helper()
	z, err := os.ReadFile(filepath.Join("..", "testdata", "rpmdb", dir, file+".zst"))
	require.NoError(t, err)
	d, err := zstd.NewReader(nil)
	require.NoError(t, err)
	defer d.Close()
	data, err := d.DecodeAll(z, nil)
	require.NoError(t, err)
	return data
}

// rpmBackend names rpm's backend for each format, for the cross-check.
var rpmBackend = map[string]string{FormatBDB: "bdb_ro", FormatNDB: "ndb", FormatSQLite: "sqlite"}

const rpmQF = `[%{=NAME}-%{=EVR}.%{=ARCH}\t%{FILENAMES}\t%{FILEMODES}\t%{FILESIZES}\t%{FILEDIGESTS}\t%{FILELINKTOS}\t%{FILEFLAGS}\t%{FILEUSERNAME}\t%{FILEGROUPNAME}\t%{FILEMTIMES}\t%{FILESTATES}\t%{FILEVERIFYFLAGS}\t%{FILERDEVS}\n]`

// dumpRPM lists every file of every package with rpm itself, from a copy
// of the database in a scratch directory (rpm may write to it).
func dumpRPM(t *testing.T, format string, data []byte, file string) (pkgs, files []string) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, file), data, 0o644))
	run := func(qf string) []string {
		cmd := exec.Command("rpm", "--dbpath", dir, "--define", "_db_backend "+rpmBackend[format], "-qa", "--qf", qf)
		var out bytes.Buffer
		cmd.Stdout = &out
		require.NoError(t, cmd.Run())
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		sort.Strings(lines)
		return lines
	}
	return run(`%{NAME}-%{EVR}.%{ARCH}\n`), run(rpmQF)
}

func dumpOurs(db *DB) (pkgs, files []string) {
	for _, p := range db.Packages {
		arch := p.Arch
		if arch == "" {
			arch = "(none)"
		}
		id := p.Name + "-" + p.EVR() + "." + arch
		pkgs = append(pkgs, id)
		for _, f := range p.Files() {
			state := "(none)"
			if f.State != StateMissing {
				state = fmt.Sprint(f.State)
			}
			files = append(files, fmt.Sprintf("%s\t%s\t%d\t%d\t%s\t%s\t%d\t%s\t%s\t%d\t%s\t%d\t%d",
				id, f.Path, f.Mode, f.Size, f.Digest, f.LinkTo, f.Flags, f.User, f.Group, f.Mtime, state, f.VerifyFlags, f.Rdev))
		}
	}
	sort.Strings(pkgs)
	sort.Strings(files)
	return pkgs, files
}

func readLines(t *testing.T, name string) []string {
	data, err := os.ReadFile(name)
	require.NoError(t, err)
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func TestRealDatabases(t *testing.T) {
	_, rpmErr := exec.LookPath("rpm")
	for _, tc := range realDBs {
		t.Run(tc.dir, func(t *testing.T) {
			data := testDB(t, tc.dir, tc.file)
			db, err := Parse(tc.format, data, nil)
			require.NoError(t, err)
			require.Empty(t, db.Problems)
			require.NotEmpty(t, db.Packages)
			pkgs, files := dumpOurs(db)
			if tc.format == FormatNDB {
				// Debian's rpm is built without NDB: compare with the
				// package list go-rpmdb's tests expect, with SIGMD5.
				want := readLines(t, filepath.Join("..", "testdata", "rpmdb", tc.dir, "packages.txt"))
				var got []string
				for _, p := range db.Packages {
					got = append(got, p.NVRA()+" "+p.SigMD5)
					require.NotEmpty(t, p.Files(), p.NVRA())
				}
				sort.Strings(got)
				require.Equal(t, want, got)
				return
			}
			if rpmErr != nil {
				t.Skip("rpm is not installed: cannot compare with rpm's own reading (apt-get install rpm)")
			}
			wantPkgs, wantFiles := dumpRPM(t, tc.format, data, tc.file)
			require.Equal(t, wantPkgs, pkgs, "packages differ from rpm -qa")
			require.Equal(t, len(wantFiles), len(files), "file count differs from rpm")
			for i := range files {
				if files[i] != wantFiles[i] {
					t.Fatalf("file record differs from rpm's:\nours: %q\nrpm:  %q", files[i], wantFiles[i])
				}
			}
		})
	}
}
