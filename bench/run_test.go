//go:build bench

package bench

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rescue/images/clouddisk"
)

// cost is what one run took: wall time, CPU time (user and system, every
// thread; a busy machine disturbs it less), and the peak resident memory.
type cost struct {
	wall, cpu time.Duration
	rssKB     int64
	// ops is how many operations the cloud disk served for the run (0
	// on the other disks).
	ops int64
}

// run is one timed run's cost and output.
type run struct {
	cost
	stdout, stderr string
	code           int // exit status
}

// timed runs a command and returns its cost and output. The exit status is
// not an error: verify tools exit non-zero when they find something.
//
// The command runs under GNU time, which reports its peak memory: Go
// starts a command with vfork, so the kernel's peak for the command
// itself counts this test's own memory, shared until the exec.
func timed(name string, args ...string) run {
	f, err := os.CreateTemp("", "rescue-bench-time-")
	if err != nil {
		panic(err)
	}
	f.Close()
	defer os.Remove(f.Name())
	cmd := exec.Command("/usr/bin/time", append([]string{"-o", f.Name(), "-f", "%M", name}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	_ = cmd.Run()
	r := run{cost: cost{wall: time.Since(start)}, stdout: out.String(), stderr: errOut.String()}
	if ps := cmd.ProcessState; ps != nil {
		r.code = ps.ExitCode()
		r.cpu = ps.UserTime() + ps.SystemTime()
	}
	if data, err := os.ReadFile(f.Name()); err == nil {
		// GNU time notes a non-zero exit before the figure.
		fs := strings.Fields(string(data))
		if len(fs) > 0 {
			r.rssKB, _ = strconv.ParseInt(fs[len(fs)-1], 10, 64)
		}
	}
	return r
}

func median(rs []run) cost {
	pick := func(f func(run) int64) int64 {
		v := make([]int64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		return v[len(v)/2]
	}
	return cost{
		wall:  time.Duration(pick(func(r run) int64 { return int64(r.wall) })),
		cpu:   time.Duration(pick(func(r run) int64 { return int64(r.cpu) })),
		rssKB: pick(func(r run) int64 { return r.rssKB }),
		ops:   pick(func(r run) int64 { return r.ops }),
	}
}

// disk is where a tree is read from, and how it is made cold.
type disk struct {
	name string // "warm", "cold local", "cold cloud"
	dir  string // the tree as the tools see it
	// cold, when set, is called before every run: nothing is cached
	// after it. A warm disk gets one unmeasured run of each tool first.
	cold  func() error
	close func()
	// ops counts the operations the disk served so far (cloud only).
	ops func() int64
}

func warmDisk(dir string) *disk { return &disk{name: "warm", dir: dir} }

// fill reads every file of the tree into the page cache: rescue verify
// reads a file that is not cached with direct I/O, so its own unmeasured
// run does not warm the tree.
func fill(dir string) {
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			readBack([]string{p})
		}
		return nil
	})
}

// localDisk is the tree where it is, on this machine's disk, with the
// caches dropped before every run.
func localDisk(dir string) *disk {
	return &disk{name: "cold local", dir: dir, cold: clouddisk.DropCaches}
}

// cloudDisk serves an ext4 image of the tree (made in memory, so that
// only the model's latency is paid) as a cold cloud disk.
func cloudDisk(t *testing.T, dir string, m clouddisk.Model) *disk {
	shm, err := os.MkdirTemp("/dev/shm", "rescue-bench-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(shm) })
	img := filepath.Join(shm, "tree.img")
	require.NoError(t, clouddisk.ImageOf(dir, img))
	return serveImage(t, img, 0, 0, "ro,noload", m, func() { os.RemoveAll(shm) })
}

// serveImage serves img and mounts the filesystem at offset.
func serveImage(t *testing.T, img string, offset, size int64, options string, m clouddisk.Model, cleanup func()) *disk {
	d, err := clouddisk.Serve(img, m)
	if err != nil {
		cleanup()
		require.NoError(t, err)
	}
	v, err := d.Mount(offset, size, options)
	if err != nil {
		d.Close()
		cleanup()
		require.NoError(t, err)
	}
	// Closed by the caller when done, or at the end of the test whatever
	// happened: a mount left behind would outlive its FUSE server.
	var once sync.Once
	release := func() {
		once.Do(func() {
			v.Close()
			d.Close()
			cleanup()
		})
	}
	t.Cleanup(release)
	return &disk{name: "cold cloud", dir: v.Dir, cold: v.Cold, ops: func() int64 { return d.Stats().Operations }, close: release}
}

// race times the commands on the disk, alternating, runs times each, and
// returns the median cost of each and the output of its first run. A warm
// disk gets one unmeasured run of each first; a cold one is made cold
// before every run.
func race(t *testing.T, d *disk, runs int, cmds ...[]string) ([]cost, []run) {
	if d.cold == nil {
		for _, c := range cmds {
			timed(c[0], c[1:]...)
		}
		fill(d.dir)
	}
	all := make([][]run, len(cmds))
	for range runs {
		for i, c := range cmds {
			if d.cold != nil {
				require.NoError(t, d.cold())
				readBack(helperFiles(t, c, d.dir))
			}
			var before int64
			if d.ops != nil {
				before = d.ops()
			}
			r := timed(c[0], c[1:]...)
			if d.ops != nil {
				r.ops = d.ops() - before
			}
			all[i] = append(all[i], r)
		}
	}
	costs := make([]cost, len(cmds))
	first := make([]run, len(cmds))
	for i := range cmds {
		costs[i] = median(all[i])
		first[i] = all[i][0]
	}
	return costs, first
}

// helperFiles are the files of this machine a command opens outside the
// tree it is given: its program, libraries, modules and configuration, as
// a run under strace saw them (once per program). A cold run starts with
// them read back into the page cache. On a helper the tools are the
// helper's own and warm from an earlier run; only the attached disk is
// cold. Dropping them too would measure how fast each tool's own program
// starts from a cold disk (Go's one 15 MB binary against perl and its
// modules, rpm and its libraries). On AlmaLinux 8, in the bench runs
// before and after this was added, rescue's cold verify went from 0.27 s
// to 0.21 s, rpm's from 0.41 s to 0.39 s; a helper does not pay that.
func helperFiles(t *testing.T, c []string, dir string) []string {
	if files, ok := helperFilesOf[c[0]]; ok {
		return files
	}
	log := filepath.Join(t.TempDir(), "strace")
	args := append([]string{"-f", "-qq", "-o", log, "-e", "trace=execve,open,openat,openat2,chroot", "-e", "status=successful",
		"/usr/bin/time", "-o", "/dev/null", "-f", "%M"}, c...)
	out, err := exec.Command("strace", args...).CombinedOutput()
	data, rerr := os.ReadFile(log)
	require.NoError(t, rerr, "strace %s: %v: %s", strings.Join(c, " "), err, out)
	// rpm runs the packages' verify scripts chrooted into the tree:
	// what is opened after that is the tree's.
	if i := chrooted.FindIndex(data); i != nil {
		data = data[:i[0]]
	}
	seen := map[string]bool{}
	var files []string
	var size int64
	for _, m := range openedPath.FindAllStringSubmatch(string(data), -1) {
		p := filepath.Clean(m[1])
		if seen[p] || p == dir || strings.HasPrefix(p, dir+"/") || strings.HasPrefix(p, "/proc/") ||
			strings.HasPrefix(p, "/sys/") || strings.HasPrefix(p, "/dev/") {
			continue
		}
		seen[p] = true
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			files = append(files, p)
			size += fi.Size()
		}
	}
	require.NotEmpty(t, files, "strace saw no file opened by %s", c[0])
	fmt.Printf("  cold runs of %s start with its %d own files (%.1f MiB) read back\n", filepath.Base(c[0]), len(files), float64(size)/(1<<20))
	helperFilesOf[c[0]] = files
	return files
}

var (
	helperFilesOf = map[string][]string{}
	// openedPath is a file an execve or open call in strace's log named
	// by an absolute path.
	openedPath = regexp.MustCompile(`(?m)^\d+ +(?:execve|open|openat|openat2)\((?:[^"\n]*?, )?"(/[^"\n]*)"`)
	chrooted   = regexp.MustCompile(`(?m)^\d+ +chroot\(`)
)

// readBack reads the files into the page cache.
func readBack(files []string) {
	for _, p := range files {
		if f, err := os.Open(p); err == nil {
			io.Copy(io.Discard, f)
			f.Close()
		}
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func numCPU() int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func loadavg() string {
	load, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(load))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func mb(kb int64) string { return fmt.Sprintf("%dMB", (kb+512)/1024) }

// verdict says whether a measured value meets its goal.
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}
