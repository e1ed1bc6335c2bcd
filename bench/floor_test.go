//go:build bench

package bench

import (
	"bufio"
	"crypto/md5"
	"crypto/sha256"
	"hash"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// floorReaders is how many files the read floor keeps in flight: as many
// as rescue verify does, so that the floor is the disk's, not the reader's.
const floorReaders = 32

// floor is the fastest the disk delivered the files a verify tool checks,
// read whole with many reads in flight and nothing else done to them.
type floor struct {
	files int
	bytes int64
	wall  time.Duration // best of the runs
	// hashed is the best of the same runs with every file also hashed
	// (the tool's digest, one hasher per core, as verify hashes):
	// the bare work of a verify, done the plain way.
	hashed  time.Duration
	algo    string
	hashers int
}

// packageFiles lists the regular files the packages of the tree at dir
// own, as the other tool reads them: dpkg's md5sums lists (what debsums
// hashes), or every file rpm lists for the installed packages.
func packageFiles(t *testing.T, dir, kind string) []string {
	var names []string
	if kind == "rpm" {
		out, err := exec.Command("rpm", "--root", dir, "--dbpath", "/var/lib/rpm", "-qal").Output()
		require.NoError(t, err, "rpm -qal")
		names = strings.Split(strings.TrimSpace(string(out)), "\n")
	} else {
		lists, _ := filepath.Glob(filepath.Join(dir, "var/lib/dpkg/info/*.md5sums"))
		for _, l := range lists {
			f, err := os.Open(l)
			require.NoError(t, err)
			s := bufio.NewScanner(f)
			for s.Scan() {
				if _, p, ok := strings.Cut(s.Text(), "  "); ok {
					names = append(names, "/"+p)
				}
			}
			f.Close()
		}
	}
	seen := map[string]bool{}
	var files []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	return files
}

// readFloor reads files on the disk, made cold before each of runs runs,
// with floorReaders reads in flight and 1 MiB reads, and returns the best
// run: no reader of the same files on this disk can finish sooner by more
// than the runs' noise, so their time over it bounds any tool's ratio.
// It then does the same runs hashing every file with algo on cores
// hashers: on a machine with few cores, the disk's interrupts and copies
// and the hashing share them, and reading and hashing take longer than
// reading alone.
func readFloor(t *testing.T, d *disk, files []string, runs, cores int, algo string) floor {
	fl := floor{files: len(files), algo: algo, hashers: cores}
	for _, p := range files {
		if fi, err := os.Stat(p); err == nil {
			fl.bytes += fi.Size()
		}
	}
	for _, hashing := range []bool{false, true} {
		for range runs {
			require.NoError(t, d.cold())
			w := readAll(files, hashing, cores, algo)
			best := &fl.wall
			if hashing {
				best = &fl.hashed
			}
			if *best == 0 || w < *best {
				*best = w
			}
		}
	}
	return fl
}

// readAll reads the files whole, floorReaders at once, and when hashing
// hashes them with algo on at most cores goroutines at once.
func readAll(files []string, hashing bool, cores int, algo string) time.Duration {
	jobs := make(chan string)
	hashers := make(chan struct{}, cores)
	var wg sync.WaitGroup
	start := time.Now()
	for range floorReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for p := range jobs {
				f, err := os.Open(p)
				if err != nil {
					continue
				}
				var h hash.Hash
				if hashing {
					h = newHash(algo)
				}
				for {
					n, err := f.Read(buf)
					if n > 0 && h != nil {
						hashers <- struct{}{}
						h.Write(buf[:n])
						<-hashers
					}
					if err != nil {
						break
					}
				}
				f.Close()
			}
		}()
	}
	for _, p := range files {
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	return time.Since(start)
}

// newHash is the digest the tools verify a kind of tree with: dpkg's
// md5sums; the SHA-256 file digests of every rpm tree measured here.
func newHash(algo string) hash.Hash {
	if algo == "md5" {
		return md5.New()
	}
	return sha256.New()
}

// digestOf names the digest of a kind of tree.
func digestOf(kind string) string {
	if kind == "dpkg" {
		return "md5"
	}
	return "sha256"
}
