package rpmdb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"rescue/sysroot"
)

// Formats of the package database.
const (
	FormatBDB    = "bdb"
	FormatNDB    = "ndb"
	FormatSQLite = "sqlite"
)

// Dirs are where rpm keeps its database, most recent convention first:
// Fedora 36+ and SUSE move it to /usr/lib/sysimage/rpm (with /var/lib/rpm a
// symlink to it), old SUSE images used /usr/share/rpm.
var Dirs = []string{"/usr/lib/sysimage/rpm", "/var/lib/rpm", "/usr/share/rpm"}

// dbFiles maps each database file name to its format, in the order rpm
// 4.16+ prefers them when several are present.
var dbFiles = []struct{ name, format string }{
	{"rpmdb.sqlite", FormatSQLite},
	{"Packages.db", FormatNDB},
	{"Packages", FormatBDB},
}

// FileNames are the names of the database files Open looks for in each of
// Dirs (and the SQLite write-ahead log it reads beside one).
func FileNames() []string {
	var out []string
	for _, f := range dbFiles {
		out = append(out, f.name)
		if f.format == FormatSQLite {
			out = append(out, f.name+"-wal")
		}
	}
	return out
}

// MaxDBSize bounds how much of a database file is read. The largest real
// databases are a few hundred megabytes; anything larger is damage.
const MaxDBSize = 2 << 30

// ErrNoDB is returned by Open when the target has no RPM database.
var ErrNoDB = errors.New("no rpm database")

// DB is an RPM database read into memory.
type DB struct {
	// Path is the database file in the target ("/var/lib/rpm/Packages").
	Path   string
	Format string
	// Packages are the decoded headers, in instance order.
	Packages []*Package
	// Problems are the damaged parts that were skipped: pages, blobs,
	// headers. The packages that could be read are still listed.
	Problems []error
}

// Find locates the target's database: the target path of the file and its
// format.
func Find(root *sysroot.Root) (string, string, error) {
	for _, d := range Dirs {
		for _, f := range dbFiles {
			p := path.Join(d, f.name)
			fi, err := root.Stat(p)
			if err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
				return p, f.format, nil
			}
		}
	}
	return "", "", ErrNoDB
}

// Open reads the target's RPM database. It only reads: the SQLite database
// and its write-ahead log are parsed as bytes, never opened with SQLite.
func Open(root *sysroot.Root) (*DB, error) {
	p, format, err := Find(root)
	if err != nil {
		return nil, err
	}
	f, err := root.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if fi.Size() > MaxDBSize {
		return nil, fmt.Errorf("reading %s: %d bytes is more than a package database holds", p, fi.Size())
	}
	var wal []byte
	if format == FormatSQLite {
		wal, err = readAll(root, p+"-wal")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("reading %s-wal: %w", p, err)
		}
	}
	db, err := ParseReader(format, f, fi.Size(), wal)
	if db != nil {
		db.Path = p
	}
	if err != nil {
		return db, fmt.Errorf("reading %s: %w", p, err)
	}
	return db, nil
}

// readAll reads a whole file of at most MaxDBSize bytes into a buffer of
// its size.
func readAll(root *sysroot.Root, p string) ([]byte, error) {
	f, err := root.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > MaxDBSize {
		return nil, fmt.Errorf("%d bytes is more than a package database holds", fi.Size())
	}
	data := make([]byte, fi.Size())
	n, err := io.ReadFull(f, data)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	return data[:n], nil
}

// Parse decodes a database file of the given format; wal is the SQLite
// write-ahead log, or nil. It returns an error only when nothing can be read
// at all; damaged parts are listed in DB.Problems.
func Parse(format string, data, wal []byte) (*DB, error) {
	return ParseReader(format, bytes.NewReader(data), int64(len(data)), wal)
}

// ParseReader is Parse reading the database file through r: only the
// pages that hold package headers are read.
func ParseReader(format string, r io.ReaderAt, size int64, wal []byte) (*DB, error) {
	var (
		blobs    []Blob
		problems []error
		err      error
	)
	switch format {
	case FormatBDB:
		blobs, problems, err = readBDB(r, size)
	case FormatNDB:
		blobs, problems, err = readNDB(r, size)
	case FormatSQLite:
		blobs, problems, err = readSQLite(r, size, wal)
	default:
		return nil, fmt.Errorf("unknown rpm database format %q", format)
	}
	db := &DB{Format: format, Problems: problems}
	if err != nil {
		return db, err
	}
	// Headers decode independently: spread them over the CPUs.
	pkgs := make([]*Package, len(blobs))
	errs := make([]error, len(blobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(blobs) {
					return
				}
				h, err := ParseHeader(blobs[i].Data)
				if err == nil {
					pkgs[i], err = NewPackage(h)
				}
				if err != nil {
					errs[i] = fmt.Errorf("package %d: %w", blobs[i].Instance, err)
					continue
				}
				pkgs[i].Instance = blobs[i].Instance
			}
		}()
	}
	wg.Wait()
	for i := range blobs {
		if errs[i] != nil {
			db.Problems = append(db.Problems, errs[i])
		} else {
			db.Packages = append(db.Packages, pkgs[i])
		}
	}
	sort.SliceStable(db.Packages, func(i, j int) bool { return db.Packages[i].Instance < db.Packages[j].Instance })
	if len(db.Packages) == 0 && len(db.Problems) > 0 {
		return db, fmt.Errorf("no readable package header: %w", errors.Join(db.Problems...))
	}
	return db, nil
}
