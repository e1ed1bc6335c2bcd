//go:build bench

package bench

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rescue/images/clouddisk"
	"rescue/pkgdb/pkgdbtest"
)

// TestBench is make bench. BENCH_RUNS sets the runs per measurement
// (median; default 3), BENCH_GROWTH the sizes of the growth trees,
// BENCH_ONLY a comma-separated subset of the sections: verify, debian
// (verify and scan of the real Debian 12 root), image, growth, rpmdb.
func TestBench(t *testing.T) {
	pkgdbtest.NeedRoot(t, "the trees are built, mounted and verified as root, and the caches dropped")
	pkgdbtest.NeedTool(t, "rpm", "rpm")
	pkgdbtest.NeedTool(t, "debsums", "debsums")
	bin := rescueBinary(t)
	runs := envInt("BENCH_RUNS", 3)
	cores := numCPU()
	model := clouddisk.Cloud
	only := map[string]bool{}
	for _, s := range strings.Split(os.Getenv("BENCH_ONLY"), ",") {
		if s != "" {
			only[s] = true
		}
	}
	want := func(section string) bool { return len(only) == 0 || only[section] }
	began := time.Now()
	fmt.Printf("\nrescue against rpm -Va and debsums, same trees, one run; %d CPUs, load %s at the start.\n", cores, loadavg())
	fmt.Printf("Each figure is the median of %d runs, the tools alternating.\n", runs)
	fmt.Printf("  warm:       every cache filled first (an unmeasured run of each tool, and every file read)\n")
	fmt.Printf("  cold local: the tree on this machine's disk, page, dentry and inode caches dropped before every run\n")
	fmt.Printf("  cold cloud: an ext4 image of the tree in memory served through FUSE as a block device with\n")
	fmt.Printf("              %s, attached by a direct-I/O loop device,\n", model)
	fmt.Printf("              unmounted, caches dropped and mounted again before every run\n")
	fmt.Printf("  on both cold disks, the files each tool opened outside the tree in an earlier run (its program,\n")
	fmt.Printf("  libraries, modules) are read back after the drop: a helper's tools are warm, its attached disk is not\n")
	fmt.Printf("ratio: their time / ours (wall, then CPU: the same bytes are read, so CPU is CPU per byte);\n")
	fmt.Printf("goal: the ratio asked for (! = not met); peak: largest resident memory.\n\n")

	var verifyRows []verifyRow
	if want("verify") {
		var trees []*tree
		for _, name := range []string{pkgdbtest.Alma8S390x, pkgdbtest.Alma9S390x} {
			if pkgdbtest.CorpusDir() == "" {
				fmt.Println("the shared corpus is absent: AlmaLinux trees left out")
				break
			}
			dir := pkgdbtest.AlmaRoot(t, name)
			breakTree(t, dir, "etc/profile", "usr/bin/bash", "usr/lib64/libc.so.6", "etc/passwd")
			trees = append(trees, &tree{name: strings.TrimSuffix(name, "-docker-s390x-micro-20231122"), dir: dir, kind: "rpm"})
		}
		if len(trees) == 2 {
			trees[0].name, trees[1].name = "almalinux 8 (corpus)", "almalinux 9 (corpus)"
		}
		big := bulkRPMRoot(t)
		breakTree(t, big, "etc/bulk.conf", "usr/lib64/bulk1/d03/f0003.so", "usr/lib64/bulk2/d00/f0000.so", "usr/lib64/bulk3/d05/f0005.so")
		trees = append(trees, &tree{name: "rpmbuild 8000 files", dir: big, kind: "rpm", cloud: true})
		deb, _ := pkgdbtest.DebianRoot(t)
		breakTree(t, deb, "etc/pam.d/login", "bin/bash", "lib/x86_64-linux-gnu/libc.so.6", "usr/bin/passwd")
		trees = append(trees, &tree{name: "debian 12 minbase", dir: deb, kind: "dpkg", cloud: true})
		for _, tr := range trees {
			tr.files, tr.bytes = treeSize(tr.dir)
			disks := []*disk{warmDisk(tr.dir), localDisk(tr.dir)}
			if tr.cloud {
				disks = append(disks, cloudDisk(t, tr.dir, model))
			}
			for _, d := range disks {
				verifyRows = append(verifyRows, verifyOn(t, bin, tr, d, runs, cores)...)
				if d.close != nil {
					d.close()
				}
			}
		}
		printVerify(verifyRows, model.IOPS)
		fmt.Println()
	}

	if want("debian") {
		// The real system: verify and scan of the Debian 12 root the boot
		// proof boots, on each disk.
		dir := bootRoot(t)
		breakTree(t, dir, "etc/pam.d/login", "bin/bash", "lib/x86_64-linux-gnu/libc.so.6", "usr/bin/passwd")
		tr := &tree{name: "debian 12 (boot proof root)", dir: dir, kind: "dpkg"}
		tr.files, tr.bytes = treeSize(dir)
		var rows []verifyRow
		var scans []scanRow
		for _, d := range []*disk{warmDisk(dir), localDisk(dir), cloudDisk(t, dir, model)} {
			rows = append(rows, verifyOn(t, bin, tr, d, runs, cores)...)
			scans = append(scans, scanOn(t, bin, "scan DIR", d.dir, d, runs))
			if d.close != nil {
				d.close()
			}
		}
		if want("image") {
			scans = append(scans, imageScans(t, bin, runs, model)...)
		}
		printVerify(rows, model.IOPS)
		fmt.Println()
		printScans(scans)
		fmt.Println()
		verifyRows = append(verifyRows, rows...)
	} else if want("image") {
		printScans(imageScans(t, bin, runs, model))
		fmt.Println()
	}

	if want("growth") {
		var sizes []int
		for _, s := range strings.Split(envString("BENCH_GROWTH", "10000,50000,200000"), ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			require.NoError(t, err, "BENCH_GROWTH")
			sizes = append(sizes, n)
		}
		printGrowth(growth(t, bin, sizes, runs, model))
		fmt.Println()
	}

	if want("rpmdb") {
		printRPMDB(rpmDBs(t, bin, runs))
		fmt.Println()
	}

	fmt.Printf("load %s at the end; %s in all.\n\n", loadavg(), time.Since(began).Round(time.Second))
}

func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// growthRow is rescue verify of a growth tree on one disk.
type growthRow struct {
	files int
	bytes int64
	disk  string
	cost  cost
	found int
}

// growth verifies trees of growing size on each disk: the cost per file
// must stay flat.
func growth(t *testing.T, bin string, sizes []int, runs int, m clouddisk.Model) []growthRow {
	var rows []growthRow
	for _, n := range sizes {
		dir := growthRoot(t, n)
		files, bytes := treeSize(dir)
		for _, d := range []*disk{warmDisk(dir), localDisk(dir), cloudDisk(t, dir, m)} {
			costs, first := race(t, d, runs, []string{bin, "verify", d.dir})
			f := rescueFindings(t, first[0].stdout)
			// The missing, emptied and changed files (dpkg records no
			// modes: the chmod is not seen).
			require.Len(t, f.lines, 3, "the growth tree's damage")
			rows = append(rows, growthRow{files: files, bytes: bytes, disk: d.name, cost: costs[0], found: len(f.lines)})
			if d.close != nil {
				d.close()
			}
		}
		os.RemoveAll(dir)
	}
	return rows
}

func printGrowth(rows []growthRow) {
	fmt.Println("growth: rescue verify of generated dpkg trees (packages of 500 files of 0.5-8 KiB, 1% up to 1 MiB)")
	fmt.Printf("%8s %7s  %-10s %8s %8s %7s %9s %8s\n", "files", "MiB", "disk", "wall", "cpu", "peak", "per file", "vs first")
	first := map[string]float64{}
	worst := map[string]float64{}
	for _, r := range rows {
		per := r.cost.wall.Seconds() / float64(r.files) * 1e6
		if _, ok := first[r.disk]; !ok {
			first[r.disk] = per
		}
		rel := per / first[r.disk]
		worst[r.disk] = max(worst[r.disk], rel)
		fmt.Printf("%8d %7.0f  %-10s %8s %8s %7s %7.1fus %7.2fx\n", r.files, float64(r.bytes)/(1<<20), r.disk,
			secs(r.cost.wall), secs(r.cost.cpu), mb(r.cost.rssKB), per, rel)
	}
	for _, d := range []string{"warm", "cold local", "cold cloud"} {
		if w, ok := worst[d]; ok {
			fmt.Printf("cost per file on %s: at most %.2fx the smallest tree's: %s (goal: flat, at most 1.5x)\n", d, w, verdict(w <= 1.5))
		}
	}
}

// summaryLine is rescue verify's closing line: packages, then records.
var summaryLine = regexp.MustCompile(`database \S+: (\d+) packages, (\d+) files`)

// rpmDBRow is rescue verify against rpm -Va of a root holding only a real
// package database.
type rpmDBRow struct {
	name           string
	packages, recs int
	ours, theirs   cost
	same           string
}

// rpmDBs verifies the real databases of testdata/rpmdb, in roots where
// every file is missing: the cost of reading a database and judging its
// records, against the database's size.
func rpmDBs(t *testing.T, bin string, runs int) []rpmDBRow {
	dbs := []struct{ dir, file, backend string }{
		{"centos5-plain", "Packages", "bdb_ro"},
		{"centos6-plain", "Packages", "bdb_ro"},
		{"centos7-plain", "Packages", "bdb_ro"},
		{"ubi8-s390x", "Packages", "bdb_ro"},
		{"centos8-modularitylabel", "Packages", "bdb_ro"},
		{"cbl-mariner-2.0", "rpmdb.sqlite", "sqlite"},
		{"fedora35", "rpmdb.sqlite", "sqlite"},
		{"sle15-bci", "Packages.db", ""}, // NDB: Debian's rpm cannot read it
	}
	var rows []rpmDBRow
	for _, db := range dbs {
		dir := rpmDBRoot(t, db.dir, db.file)
		ours := []string{bin, "verify", dir}
		row := rpmDBRow{name: db.dir}
		var first []run
		if db.backend == "" {
			var costs []cost
			costs, first = race(t, warmDisk(dir), runs, ours)
			row.ours, row.same = costs[0], "(no rpm for NDB)"
		} else {
			var costs []cost
			costs, first = race(t, warmDisk(dir), runs, ours,
				[]string{"rpm", "--root", dir, "--dbpath", "/var/lib/rpm", "--define", "_db_backend " + db.backend, "-Va"})
			row.ours, row.theirs = costs[0], costs[1]
			row.same = "identical"
			if !rpmSame(dir, first[1], rescueFindings(t, first[0].stdout)) {
				row.same = "DIFFERENT"
				t.Errorf("%s: rescue verify and rpm -Va differ", db.dir)
			}
		}
		m := summaryLine.FindStringSubmatch(first[0].stderr)
		require.NotNil(t, m, first[0].stderr)
		row.packages, _ = strconv.Atoi(m[1])
		row.recs, _ = strconv.Atoi(m[2])
		rows = append(rows, row)
		os.RemoveAll(dir)
	}
	return rows
}

func printRPMDB(rows []rpmDBRow) {
	fmt.Println("growth with the package database: real RPM databases (testdata/rpmdb), every file missing, warm")
	fmt.Printf("%-24s %8s %8s %7s %7s %6s %10s %6s  %s\n", "database", "packages", "records", "wall", "rpm -Va", "ratio", "per record", "peak", "findings")
	for _, r := range rows {
		them, ratio := "-", "-"
		if r.theirs.wall > 0 {
			them = secs(r.theirs.wall)
			ratio = fmt.Sprintf("%.1fx", r.theirs.wall.Seconds()/r.ours.wall.Seconds())
		}
		fmt.Printf("%-24s %8d %8d %7s %7s %6s %8.1fus %6s  %s\n", r.name, r.packages, r.recs, secs(r.ours.wall), them, ratio,
			r.ours.wall.Seconds()/float64(max(r.recs, 1))*1e6, mb(r.ours.rssKB), r.same)
	}
}
