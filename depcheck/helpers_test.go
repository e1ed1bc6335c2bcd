package depcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// need skips the test when a tool the measurement runs is missing.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make deps installs it)", tool)
		}
	}
}

// run runs a command and returns its combined output; it fails the test
// when the command fails.
func run(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	out, err := try(stdin, name, args...)
	require.NoError(t, err, "%s %v: %s", name, args, out)
	return out
}

// try runs a command and returns its combined output and error.
func try(stdin string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// sparse makes an empty file of size MiB in a temp dir.
func sparse(t *testing.T, name string, mib int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(mib<<20))
	require.NoError(t, f.Close())
	return p
}

// corpusDir is the shared corpus of AlmaLinux roots beside the checkout
// (see pkgdb/pkgdbtest), or "" when it is absent.
func corpusDir() string {
	if d := os.Getenv("RESCUE_CORPUS"); d != "" {
		return d
	}
	for _, up := range []string{"../..", "../../.."} {
		d, _ := filepath.Abs(filepath.Join(up, "shared", "corpus", "rpm"))
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
	}
	return ""
}

// fromCorpus extracts the files matching pattern from a corpus root into
// a temp dir and returns the dir.
func fromCorpus(t testing.TB, root string, members ...string) string {
	t.Helper()
	c := corpusDir()
	if c == "" {
		t.Skip("the shared corpus of RPM roots (shared/corpus/rpm) is absent; set RESCUE_CORPUS")
	}
	dir := t.TempDir()
	args := append([]string{"-xJf", filepath.Join(c, root+".tar.xz"), "-C", dir}, members...)
	out, err := exec.Command("tar", args...).CombinedOutput()
	require.NoError(t, err, "tar: %s", out)
	return dir
}
