//go:build bench

package bench

import (
	"bufio"
	"io"
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
func readFloor(t *testing.T, d *disk, files []string, runs int) floor {
	fl := floor{files: len(files)}
	for _, p := range files {
		if fi, err := os.Stat(p); err == nil {
			fl.bytes += fi.Size()
		}
	}
	for range runs {
		require.NoError(t, d.cold())
		jobs := make(chan string)
		var wg sync.WaitGroup
		start := time.Now()
		for range floorReaders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 1<<20)
				for p := range jobs {
					if f, err := os.Open(p); err == nil {
						io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
						f.Close()
					}
				}
			}()
		}
		for _, p := range files {
			jobs <- p
		}
		close(jobs)
		wg.Wait()
		if w := time.Since(start); fl.wall == 0 || w < fl.wall {
			fl.wall = w
		}
	}
	return fl
}
