package unitfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/sysroot"
)

func TestConfFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("[Manager]\n"), 0o644))
	}
	write("usr/lib/x.conf.d/50-default.conf")
	write("usr/lib/x.conf.d/10-early.conf")
	write("etc/x.conf.d/50-default.conf") // masks the one in /usr/lib
	write("run/x.conf.d/60-run.conf")
	write("etc/x.conf.d/README")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc/x.conf.d/dir.conf"), 0o755))
	require.NoError(t, os.Symlink("/dev/null", filepath.Join(dir, "usr/lib/x.conf.d/05-null.conf")))
	// Merged /usr: /lib is /usr/lib and is read once.
	require.NoError(t, os.Symlink("usr/lib", filepath.Join(dir, "lib")))
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()

	s := ConfFiles(root, []string{"/etc/x.conf.d", "/run/x.conf.d", "/usr/lib/x.conf.d", "/lib/x.conf.d", "/missing"})
	assert.Equal(t, []string{"/usr/lib/x.conf.d/10-early.conf", "/etc/x.conf.d/50-default.conf", "/run/x.conf.d/60-run.conf"}, s.Files)
	assert.Equal(t, []string{"/usr/lib/x.conf.d/50-default.conf", "/usr/lib/x.conf.d/05-null.conf"}, s.Masked,
		"same-named files first, in directory order, then the /dev/null masks")
	assert.Empty(t, s.Errors, "a missing directory is no error")
}
