package sysctlconf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/sysroot"
)

func TestParse(t *testing.T) {
	f := Parse("/etc/sysctl.conf", []byte("# comment\n; also a comment\n\nvm.swappiness=10\n  kernel/pid_max = 4096 \r\n-net.ipv4.tcp_tw_recycle = 1\nbroken line\n= value\nnet/ipv4/conf/eth0.100/rp_filter = 0\n"))
	require.Len(t, f.Entries, 4)
	assert.Equal(t, Entry{Key: "vm.swappiness", Value: "10", Path: "/etc/sysctl.conf", Line: 4, Raw: "vm.swappiness=10"}, f.Entries[0])
	assert.Equal(t, "kernel.pid_max", f.Entries[1].Key)
	assert.Equal(t, "4096", f.Entries[1].Value)
	assert.Equal(t, 5, f.Entries[1].Line)
	assert.True(t, f.Entries[2].IgnoreErrors)
	assert.Equal(t, "net.ipv4.tcp_tw_recycle", f.Entries[2].Key)
	// A dot inside a slash-separated key is part of the interface name.
	assert.Equal(t, "net.ipv4.conf.eth0/100.rp_filter", f.Entries[3].Key)
	require.Len(t, f.Bad, 2)
	assert.Equal(t, 7, f.Bad[0].Line)
	assert.Equal(t, 8, f.Bad[1].Line)
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"vm.swappiness":                  "vm.swappiness",
		"vm/swappiness":                  "vm.swappiness",
		"net.ipv4.conf.eth0/100.forward": "net.ipv4.conf.eth0/100.forward",
		"net/ipv4/conf/eth0.100/forward": "net.ipv4.conf.eth0/100.forward",
		".vm.x.":                         "vm.x",
		"":                               "",
	} {
		assert.Equal(t, want, Normalize(in), in)
	}
}

func write(t *testing.T, root, name, data string) {
	t.Helper()
	p := filepath.Join(root, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
}

func TestLoadOrder(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "usr/lib/sysctl.d/50-default.conf", "kernel.pid_max = 100\nvm.a = usr\n")
	write(t, dir, "usr/lib/sysctl.d/10-early.conf", "vm.b = early\n")
	write(t, dir, "etc/sysctl.d/50-default.conf", "vm.a = etc\n") // masks the usr one
	write(t, dir, "run/sysctl.d/60-run.conf", "vm.b = run\n")
	write(t, dir, "etc/sysctl.d/README", "vm.b = not-a-conf-file\n")
	write(t, dir, "etc/sysctl.d/70-masked.conf", "vm.c = hidden\n")
	require.NoError(t, os.Symlink("/dev/null", filepath.Join(dir, "usr/lib/sysctl.d/05-null.conf")))
	write(t, dir, "etc/sysctl.conf", "vm.b = main\n")
	// Merged /usr: /lib is a link to usr/lib and must not read twice.
	require.NoError(t, os.Symlink("usr/lib", filepath.Join(dir, "lib")))
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()

	s := Load(root)
	assert.Empty(t, s.Errors)
	var paths []string
	for _, f := range s.Files {
		paths = append(paths, f.Path)
	}
	assert.Equal(t, []string{
		"/usr/lib/sysctl.d/10-early.conf",
		"/etc/sysctl.d/50-default.conf",
		"/run/sysctl.d/60-run.conf",
		"/etc/sysctl.d/70-masked.conf",
		"/etc/sysctl.conf",
	}, paths)
	assert.ElementsMatch(t, []string{"/usr/lib/sysctl.d/50-default.conf", "/usr/lib/sysctl.d/05-null.conf"}, s.Masked)
	e, ok := s.Value("vm.b")
	require.True(t, ok)
	assert.Equal(t, "main", e.Value)
	assert.Equal(t, "/etc/sysctl.conf", e.Path)
	assert.Len(t, s.All("vm.b"), 3)
	e, ok = s.Value("vm/a")
	require.True(t, ok)
	assert.Equal(t, "etc", e.Value)
	_, ok = s.Value("kernel.pid_max")
	assert.False(t, ok, "the masked file's keys are not applied")
}

func TestLoadSysctlConfThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "etc/sysctl.conf", "vm.a = 1\n")
	write(t, dir, "etc/sysctl.d/zz-last.conf", "vm.a = 2\n")
	require.NoError(t, os.Symlink("../sysctl.conf", filepath.Join(dir, "etc/sysctl.d/99-sysctl.conf")))
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	s := Load(root)
	require.Len(t, s.Files, 2, "sysctl.conf is read once, in the place of its symlink")
	e, _ := s.Value("vm.a")
	assert.Equal(t, "2", e.Value, "zz-last.conf sorts after 99-sysctl.conf and wins")
}

func TestLoadEmptyRoot(t *testing.T) {
	root, err := sysroot.Open(t.TempDir())
	require.NoError(t, err)
	defer root.Close()
	s := Load(root)
	assert.Empty(t, s.Files)
	assert.Empty(t, s.Errors)
	_, ok := s.Value("vm.a")
	assert.False(t, ok)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("vm.a = 1\n# c\n-kernel/x=2\r\n"))
	f.Add([]byte("=\n-\n-=\n..=..\n/=/"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Parse("/x", data)
		for _, e := range p.Entries {
			if e.Key == "" || e.Line < 1 {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}
