package initramfs

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/parse/cpio"
	img "rescue/parse/initramfs"
	"rescue/parse/initramfs/initramfstest"
	"rescue/repair"
	"rescue/sysroot"
)

// The test binary doubles as the target's dracut, update-initramfs and
// mkinitrd: the golden archives copy it into the root (section .tools),
// the fix runs it there in a chroot, and it rebuilds the image the way the
// real tool would, with the drivers it was asked to add.
func TestMain(m *testing.M) {
	switch name := filepath.Base(os.Args[0]); name {
	case "dracut", "update-initramfs", "mkinitrd":
		if err := fakeTool(name, os.Args[1:]); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// marker is a file every test root has; the fake tools refuse to write
// anywhere else (if the chroot failed, they would be writing to the host).
const marker = "/.rescue-test-root"

func fakeTool(name string, args []string) error {
	if _, err := os.Stat(marker); err != nil {
		return fmt.Errorf("not in a test root (no %s): refusing to write", marker)
	}
	var image, version string
	var drivers []string
	switch name {
	case "dracut":
		var pos []string
		for i := 0; i < len(args); i++ {
			switch a := args[i]; a {
			case "--force":
			case "--add-drivers":
				i++
				drivers = append(drivers, strings.Fields(args[i])...)
			default:
				if strings.HasPrefix(a, "-") {
					return fmt.Errorf("unexpected option %s", a)
				}
				pos = append(pos, a)
			}
		}
		if len(pos) != 2 {
			return fmt.Errorf("want IMAGE VERSION, got %q", pos)
		}
		image, version = pos[0], pos[1]
		confs, _ := filepath.Glob("/etc/dracut.conf.d/*.conf")
		for _, c := range confs {
			data, _ := os.ReadFile(c)
			for _, line := range strings.Split(string(data), "\n") {
				if v, ok := strings.CutPrefix(line, "add_drivers+="); ok {
					drivers = append(drivers, strings.Fields(strings.Trim(v, `"`))...)
				}
			}
		}
	case "update-initramfs":
		if len(args) != 3 || (args[0] != "-u" && args[0] != "-c") || args[1] != "-k" {
			return fmt.Errorf("want -u|-c -k VERSION, got %q", args)
		}
		version = args[2]
		image = "/boot/initrd.img-" + version
		data, _ := os.ReadFile("/etc/initramfs-tools/modules")
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				drivers = append(drivers, strings.Fields(line)[0])
			}
		}
	case "mkinitrd":
		var pos []string
		for _, a := range args {
			switch {
			case a == "-f":
			case strings.HasPrefix(a, "--with="):
				drivers = append(drivers, strings.TrimPrefix(a, "--with="))
			default:
				pos = append(pos, a)
			}
		}
		if len(pos) != 2 {
			return fmt.Errorf("want IMAGE VERSION, got %q", pos)
		}
		image, version = pos[0], pos[1]
	}
	spec := initramfstest.Spec{Compression: "gzip", Files: []string{"init"}}
	prefix := "usr/lib/modules/" + version + "/"
	if f, err := os.Open(image); err == nil {
		old, err := img.List(f)
		f.Close()
		if err == nil {
			spec = specOf(old)
			for _, e := range old.Entries {
				if i := strings.Index(e.Name, "modules/"+version+"/"); i >= 0 {
					prefix = e.Name[:i] + "modules/" + version + "/"
				}
			}
		}
	}
	dep, err := os.ReadFile("/lib/modules/" + version + "/modules.dep")
	if err != nil {
		return err
	}
	paths := map[string]string{}
	for _, line := range strings.Split(string(dep), "\n") {
		p, _, _ := strings.Cut(line, ":")
		if n, ok := img.ModuleName(p); ok {
			paths[n] = p
		}
	}
	for _, d := range drivers {
		p, ok := paths[modName(d)]
		if !ok {
			return fmt.Errorf("module %s not found for %s", d, version)
		}
		spec.Files = append(spec.Files, prefix+p)
	}
	data, err := initramfstest.Build(spec)
	if err != nil {
		return err
	}
	return os.WriteFile(image, data, 0o600)
}

// specOf turns a listed image back into the spec that builds it.
func specOf(image *img.Image) initramfstest.Spec {
	s := initramfstest.Spec{Compression: image.Segments[len(image.Segments)-1].Compression}
	early := len(image.Segments) > 1 && image.Has(initramfstest.Microcode)
	s.Early = early
	for _, e := range image.Entries {
		if early && e.Segment == 0 {
			continue
		}
		switch e.Mode & cpio.TypeMask {
		case cpio.TypeDir:
			s.Files = append(s.Files, e.Name+"/")
		case cpio.TypeLink:
			s.Files = append(s.Files, e.Name+" -> "+e.LinkTarget)
		default:
			s.Files = append(s.Files, e.Name)
		}
	}
	return s
}

func section(a *txtar.Archive, name string) (string, bool) {
	for _, f := range a.Files {
		if f.Name == name {
			return string(f.Data), true
		}
	}
	return "", false
}

// images parses an .images section:
//
//	/boot/initramfs-V.img zstd early
//	  usr/lib/modules/V/kernel/fs/xfs/xfs.ko.xz
//	  init -> usr/lib/systemd/systemd
//
// "truncate" after the compression cuts the image short.
func images(t testing.TB, text string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	type img struct {
		path     string
		spec     initramfstest.Spec
		truncate bool
	}
	var all []*img
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			f := strings.Fields(line)
			require.GreaterOrEqual(t, len(f), 2, "image line %q", line)
			i := &img{path: f[0], spec: initramfstest.Spec{Compression: f[1]}}
			for _, x := range f[2:] {
				switch x {
				case "early":
					i.spec.Early = true
				case "truncate":
					i.truncate = true
				default:
					t.Fatalf("image line %q: unknown word %q", line, x)
				}
			}
			all = append(all, i)
			continue
		}
		require.NotEmpty(t, all, "file line before an image line")
		all[len(all)-1].spec.Files = append(all[len(all)-1].spec.Files, strings.TrimSpace(line))
	}
	for _, i := range all {
		data, err := initramfstest.Build(i.spec)
		require.NoError(t, err)
		if i.truncate {
			data = data[:len(data)*2/3]
		}
		out[i.path] = data
	}
	return out
}

// staticSelf returns a static build of this test binary, which has to run
// in a chroot without libc: the binary itself when it is static (make test
// builds with CGO_ENABLED=0), else a copy built with CGO_ENABLED=0.
func staticSelf(t testing.TB) string {
	self, err := os.Executable()
	require.NoError(t, err)
	if isStatic(t, self) {
		return self
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the test binary is dynamically linked and no go tool is at hand to build a static one (run with CGO_ENABLED=0)")
	}
	out := filepath.Join(t.TempDir(), "initramfs.test")
	cmd := exec.Command(goTool, "test", "-c", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "building a static test binary: %s", b)
	require.True(t, isStatic(t, out))
	return out
}

func isStatic(t testing.TB, p string) bool {
	f, err := elf.Open(p)
	require.NoError(t, err)
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// setup writes the archive's images (.want-images for the repaired tree,
// when there is one) and tools into dir.
func setup(self string) func(t testing.TB, a *txtar.Archive, dir string, want bool) {
	return func(t testing.TB, a *txtar.Archive, dir string, want bool) {
		t.Helper()
		text, _ := section(a, ".images")
		if w, ok := section(a, ".want-images"); ok && want {
			text = w
		}
		for p, data := range images(t, text) {
			host := filepath.Join(dir, p)
			require.NoError(t, os.MkdirAll(filepath.Dir(host), 0o755))
			require.NoError(t, os.WriteFile(host, data, 0o600))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, marker), nil, 0o644))
		for _, d := range []string{"dev", "proc", "sys"} {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
		}
		tools, _ := section(a, ".tools")
		for _, p := range strings.Fields(tools) {
			if self == "" {
				// Scans only look for the tool.
				writeFile(t, filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755)
				continue
			}
			data, err := os.ReadFile(self)
			require.NoError(t, err)
			writeFile(t, filepath.Join(dir, p), data, 0o755)
		}
	}
}

func writeFile(t testing.TB, p string, data []byte, mode os.FileMode) {
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, data, mode))
	require.NoError(t, os.Chmod(p, mode))
}

// TestGolden scans, repairs (running the fake tools in a chroot), rescans
// and undoes every archive.
func TestGolden(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the repair runs dracut/update-initramfs in a chroot, which needs root (CI runs as root); TestFindings covers the scan")
	}
	self := staticSelf(t)
	checkstest.RunWith(t, Check, checkstest.Options{AllowExec: true, Setup: setup(self)})
}

// TestFindings checks every archive's findings without repairing, so that
// the scan is covered without root.
func TestFindings(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			a, err := txtar.ParseFile(file)
			require.NoError(t, err)
			dir := t.TempDir()
			checkstest.Unpack(t, a, dir, false)
			setup("")(t, a, dir, false)
			root, err := sysroot.Open(dir)
			require.NoError(t, err)
			defer root.Close()
			res := checks.Run(context.Background(), root, facts.New(root, checkstest.FactOptions(t, a)), []*checks.Check{Check}, nil)
			require.Empty(t, res.Checks[0].Error)
			want, _ := section(a, ".findings")
			if got := checkstest.FormatFindings(res.Findings); got != want {
				t.Errorf("findings differ\n--- want\n%s--- got\n%s", want, got)
			}
		})
	}
}

// TestNeedsAllowChroot: without --allow-chroot the rebuild is refused and
// nothing changes.
func TestNeedsAllowChroot(t *testing.T) {
	a, err := txtar.ParseFile("testdata/el9-xen-hostonly.txtar")
	require.NoError(t, err)
	dir := t.TempDir()
	checkstest.Unpack(t, a, dir, false)
	setup("")(t, a, dir, false)
	before := checkstest.Snapshot(t, dir)
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	res := checks.Run(context.Background(), root, facts.New(root, checkstest.FactOptions(t, a)), []*checks.Check{Check}, nil)
	cands, err := checks.Candidates(res.Findings, nil)
	require.NoError(t, err)
	require.Len(t, cands, 1)
	ops := cands[0].Fix.Ops
	require.Len(t, ops, 2)
	require.Equal(t, repair.KindExec, ops[1].Kind)
	require.Equal(t, []string{"/usr/bin/dracut", "--force", "--add-drivers", "virtio_blk virtio_scsi nvme", "/boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img", "5.14.0-362.8.1.el9_3.x86_64"}, ops[1].Argv)
	require.Equal(t, []string{"/boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img"}, ops[1].Touches)
	plan := repair.NewPlan(cands, root.ReadFile)
	out, err := repair.Apply(root, plan, repair.Options{JournalDir: t.TempDir()})
	require.NoError(t, err)
	require.Equal(t, repair.OutcomeRefused, out.Items[0].Status)
	require.Contains(t, out.Items[0].Reason, "--allow-chroot")
	require.Equal(t, before, checkstest.Snapshot(t, dir))
}
