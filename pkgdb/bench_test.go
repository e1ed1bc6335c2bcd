//go:build bench

package pkgdb_test

// make bench: rescue verify against rpm -Va and debsums on the same trees,
// in the same run, alternating, with warm caches; prints the time ratios
// and checks that the findings are identical. Run with
//
//	go test -tags bench -run TestBenchVerify -v -timeout 60m ./pkgdb/

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rescue/pkgdb/pkgdbtest"
)

const benchRuns = 5

type benchTree struct {
	name  string
	dir   string
	kind  string // rpm, dpkg
	files int
	bytes int64
}

// rescueBinary builds the CLI once.
func rescueBinary(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "rescue")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/rescue")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// cost is what one run took: wall time, and CPU time (user and system,
// every thread) which a busy machine disturbs less.
type cost struct{ wall, cpu time.Duration }

// timed runs a command and returns its cost, stdout and stderr.
func timed(name string, args ...string) (cost, string, string) {
	cmd := exec.Command(name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	_ = cmd.Run() // verify tools exit non-zero when they find something
	c := cost{wall: time.Since(start)}
	if cmd.ProcessState != nil {
		c.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	return c, out.String(), errOut.String()
}

func median(cs []cost) cost {
	w := make([]time.Duration, len(cs))
	c := make([]time.Duration, len(cs))
	for i := range cs {
		w[i], c[i] = cs[i].wall, cs[i].cpu
	}
	sort.Slice(w, func(i, j int) bool { return w[i] < w[j] })
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	return cost{w[len(w)/2], c[len(c)/2]}
}

// race times a against b, alternating, after one warm-up run of each.
func race(a, b func() cost) (cost, cost) {
	a()
	b()
	var ta, tb []cost
	for range benchRuns {
		ta = append(ta, a())
		tb = append(tb, b())
	}
	return median(ta), median(tb)
}

var rpmLine = regexp.MustCompile(`^(missing  |[SM5DLUGTP.?]{9}) `)

func rescueLines(t *testing.T, out string) (lines []string, changed, missing []string) {
	var doc struct {
		Results []struct {
			Line, Path, Code string
			Missing          bool
			Attrs            []string
		}
		Stats struct {
			Files int
			Bytes int64
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	for _, r := range doc.Results {
		lines = append(lines, r.Line)
		if r.Missing {
			missing = append(missing, r.Path)
		} else if strings.Contains(r.Code, "5") {
			changed = append(changed, r.Path)
		}
	}
	sort.Strings(lines)
	return lines, changed, missing
}

func treeSize(t *testing.T, dir string) (int, int64) {
	n, size := 0, int64(0)
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n++
			size += fi.Size()
		}
		return nil
	})
	return n, size
}

// bigRPMRoot installs generated packages holding many files of mixed
// sizes, as a stand-in for a full system's /usr.
func bigRPMRoot(t *testing.T) string {
	pkgs := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var rpms []string
	for p := range 4 {
		spec := pkgdbtest.RPMSpec{Name: fmt.Sprintf("bulk%d", p), Version: "1.0", Release: "1", Arch: "x86_64", Payload: "w.ufdio"}
		for i := range 2000 {
			size := 512 + rng.IntN(24<<10)
			if i%50 == 0 {
				size = 1<<20 + rng.IntN(2<<20)
			}
			buf := make([]byte, size)
			for j := range buf {
				buf[j] = byte(rng.Uint32())
			}
			spec.Files = append(spec.Files, pkgdbtest.RPMFile{Path: fmt.Sprintf("/usr/lib64/bulk%d/d%02d/f%04d.so", p, i%40, i), Content: string(buf), Mode: "0755"})
		}
		if p == 0 {
			spec.Files = append(spec.Files, pkgdbtest.RPMFile{Path: "/etc/bulk.conf", Content: "a=1\n", Attrs: "%config(noreplace)"})
		}
		rpms = append(rpms, pkgdbtest.BuildRPM(t, pkgs, spec))
	}
	return pkgdbtest.RPMRoot(t, rpms...)
}

// breakTree makes the same kinds of damage in every tree: a missing
// configuration file, an emptied file, a changed byte, a mode change.
func breakTree(t *testing.T, dir string, conf, empty, change, chmod string) {
	p := func(s string) string { return filepath.Join(dir, s) }
	require.NoError(t, os.Remove(p(conf)))
	require.NoError(t, os.Truncate(p(empty), 0))
	data, err := os.ReadFile(p(change))
	require.NoError(t, err)
	data[len(data)/2] ^= 0x55
	require.NoError(t, os.WriteFile(p(change), data, 0o644))
	require.NoError(t, os.Chmod(p(chmod), 0o700))
}

func TestBenchVerify(t *testing.T) {
	pkgdbtest.NeedRoot(t, "the trees are built and verified as root")
	pkgdbtest.NeedTool(t, "rpm", "rpm")
	bin := rescueBinary(t)
	var trees []benchTree

	for _, name := range []string{pkgdbtest.Alma8S390x, pkgdbtest.Alma9S390x} {
		if pkgdbtest.CorpusDir() == "" {
			t.Log("corpus absent: AlmaLinux trees left out")
			break
		}
		dir := pkgdbtest.AlmaRoot(t, name)
		breakTree(t, dir, "etc/profile", "usr/bin/bash", "usr/lib64/libc.so.6", "etc/passwd")
		trees = append(trees, benchTree{name: name, dir: dir, kind: "rpm"})
	}
	big := bigRPMRoot(t)
	breakTree(t, big, "etc/bulk.conf", "usr/lib64/bulk1/d03/f0003.so", "usr/lib64/bulk2/d00/f0000.so", "usr/lib64/bulk3/d05/f0005.so")
	trees = append(trees, benchTree{name: "rpmbuild 8000 files", dir: big, kind: "rpm"})
	if _, err := exec.LookPath("mmdebstrap"); err == nil {
		deb, _ := pkgdbtest.DebianRoot(t)
		breakTree(t, deb, "etc/pam.d/login", "bin/bash", "lib/x86_64-linux-gnu/libc.so.6", "usr/bin/passwd")
		trees = append(trees, benchTree{name: "debian bookworm minbase", dir: deb, kind: "dpkg"})
	}

	var report []string
	add := func(format string, args ...any) {
		report = append(report, fmt.Sprintf(format, args...))
	}
	add("%-40s %6s %6s  %-29s %8s %8s %6s  %8s %8s %6s  %s", "tree", "files", "MiB", "against", "wall:us", "them", "ratio", "cpu:us", "them", "ratio", "findings")
	for i := range trees {
		tr := &trees[i]
		tr.files, tr.bytes = treeSize(t, tr.dir)
		_, out, _ := timed(bin, "verify", tr.dir, "--json")
		ours, changed, missing := rescueLines(t, out)
		rescue := func() cost { c, _, _ := timed(bin, "verify", tr.dir, "--json"); return c }

		type other struct {
			label string
			run   func() (cost, string, string)
			same  func(stdout, stderr string) bool
		}
		var others []other
		if tr.kind == "rpm" {
			rpmSame := func(stdout, _ string) bool {
				var theirs []string
				for _, l := range strings.Split(stdout, "\n") {
					if rpmLine.MatchString(l) {
						theirs = append(theirs, l)
					}
				}
				sort.Strings(theirs)
				return strings.Join(theirs, "\n") == strings.Join(ours, "\n")
			}
			others = append(others,
				other{"rpm -Va", func() (cost, string, string) {
					return timed("rpm", "--root", tr.dir, "--dbpath", "/var/lib/rpm", "-Va")
				}, rpmSame},
				other{"rpm -Va --nodeps --noscripts", func() (cost, string, string) {
					return timed("rpm", "--root", tr.dir, "--dbpath", "/var/lib/rpm", "-Va", "--nodeps", "--noscripts")
				}, rpmSame})
		} else {
			others = append(others,
				other{"debsums -a -c", func() (cost, string, string) {
					return timed("debsums", "--root", tr.dir, "--all", "--changed")
				}, func(stdout, stderr string) bool {
					var c, m []string
					for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
						if l != "" {
							c = append(c, strings.TrimPrefix(l, tr.dir))
						}
					}
					for _, l := range strings.Split(stderr, "\n") {
						if _, rest, ok := strings.Cut(l, "missing file "+tr.dir); ok {
							m = append(m, strings.Fields(rest)[0])
						}
					}
					sort.Strings(c)
					sort.Strings(m)
					sort.Strings(changed)
					sort.Strings(missing)
					return strings.Join(c, " ") == strings.Join(changed, " ") && strings.Join(m, " ") == strings.Join(missing, " ")
				}},
				other{"dpkg --verify", func() (cost, string, string) {
					return timed("dpkg", "--root="+tr.dir, "--verify")
				}, func(stdout, _ string) bool {
					return strings.Join(fields(strings.Split(stdout, "\n")), "\n") == strings.Join(fields(ours), "\n")
				}})
		}
		for _, o := range others {
			_, stdout, stderr := o.run()
			same := o.same(stdout, stderr)
			tr0, to := race(rescue, func() cost { c, _, _ := o.run(); return c })
			verdict := "identical"
			if !same {
				verdict = "DIFFERENT"
				t.Errorf("%s: findings differ from %s:\nrescue:\n%s\n%s:\n%s%s", tr.name, o.label, strings.Join(ours, "\n"), o.label, stdout, stderr)
			}
			add("%-40s %6d %6.1f  %-29s %7.3fs %7.3fs %5.1fx  %7.3fs %7.3fs %5.1fx  %s (%d)", tr.name, tr.files, float64(tr.bytes)/(1<<20), o.label,
				tr0.wall.Seconds(), to.wall.Seconds(), to.wall.Seconds()/tr0.wall.Seconds(),
				tr0.cpu.Seconds(), to.cpu.Seconds(), to.cpu.Seconds()/tr0.cpu.Seconds(), verdict, len(ours))
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("\nrescue verify against the distributions' own tools (median of %d alternating runs, warm cache, %d CPUs, load %s):\n",
		benchRuns, numCPU(), strings.Join(strings.Fields(string(load))[:3], " "))
	for _, l := range report {
		fmt.Println(l)
	}
	fmt.Println()
}

func numCPU() int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return 0
	}
	var n int
	fmt.Sscan(string(out), &n)
	return n
}
