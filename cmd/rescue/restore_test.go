package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks/checkstest"
	"rescue/pkgdb/pkgdbtest"
)

// rescueCLI runs the CLI in-process and returns its exit code, stdout and
// stderr.
func rescueCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// fixJSON is the part of rescue fix --json these tests read.
type fixJSON struct {
	Result *struct {
		ID    string
		Items []struct{ Finding, Status, Reason string }
	} `json:"result"`
	Error    string `json:"error"`
	Findings []struct {
		ID, Message string
	} `json:"findings"`
	Plan struct {
		Items []struct {
			Finding string
			Fix     struct {
				Message string
				Ops     []struct {
					Kind, Path, Target string
					Source             *struct {
						Package, Version, From string
						Checks                 []string
					}
				}
			}
		}
	} `json:"plan"`
}

// TestDebian11LibnssFilesSymlink is the seed's "I have no name!" on a real
// Debian 11 root (mmdebstrap bullseye minbase, glibc 2.31): the soname
// symlink libnss_files.so.2 is deleted, which on this release refuses
// every login. rescue finds it, says that it is the symlink that is gone
// and its file is there, restores exactly the symlink from the real libc6
// .deb, scans clean, and undo gives back the broken tree.
func TestDebian11LibnssFilesSymlink(t *testing.T) {
	root, debs := pkgdbtest.DebianSuiteRoot(t, "bullseye")
	lib := filepath.Join(root, "lib/x86_64-linux-gnu/libnss_files.so.2")
	target, err := os.Readlink(lib)
	require.NoError(t, err)
	require.Equal(t, "libnss_files-2.31.so", target, "Debian 11's libc6 ships the soname as a symlink")
	require.NoError(t, os.Remove(lib))
	broken := checkstest.HashSnapshot(t, root)
	only := []string{"--only", "nss,pkgfiles,libs"}
	checks := []string{"--checks", "nss,pkgfiles,libs"}

	code, out, errOut := rescueCLI(t, append([]string{"scan", root, "--json"}, checks...)...)
	require.Equal(t, 4, code, errOut)
	var scan fixJSON
	require.NoError(t, json.Unmarshal([]byte(out), &scan))
	var msgs []string
	for _, f := range scan.Findings {
		msgs = append(msgs, f.ID+": "+f.Message)
	}
	all := strings.Join(msgs, "\n")
	assert.Contains(t, all, "nss/source-missing:/lib/x86_64-linux-gnu/libnss_files.so.2#files")
	assert.Contains(t, all, "pkgfiles/damaged:/lib/x86_64-linux-gnu/libnss_files.so.2#libc6")
	assert.Contains(t, all, "libnss_files-2.31.so of the same package is there, so the name is most likely its soname symlink")
	// Without a package file rescue cannot know the name was a symlink
	// (dpkg records no types): the scan names the package to fetch.
	code, out, errOut = rescueCLI(t, append([]string{"fix", root, "--json", "--packages", debs}, only...)...)
	require.Equal(t, 4, code, errOut)
	var plan fixJSON
	require.NoError(t, json.Unmarshal([]byte(out), &plan))
	for _, f := range plan.Findings {
		if strings.HasPrefix(f.ID, "nss/") {
			assert.Contains(t, f.Message, "the symlink /lib/x86_64-linux-gnu/libnss_files.so.2 -> libnss_files-2.31.so is gone, the file it points to is there")
		}
	}
	var ops int
	for _, it := range plan.Plan.Items {
		for _, op := range it.Fix.Ops {
			ops++
			assert.Equal(t, "symlink", op.Kind, "only the symlink is restored: %s", it.Fix.Message)
			assert.Equal(t, "/lib/x86_64-linux-gnu/libnss_files.so.2", op.Path)
			assert.Equal(t, "libnss_files-2.31.so", op.Target)
			require.NotNil(t, op.Source)
			assert.Equal(t, "libc6", op.Source.Package)
			assert.True(t, strings.HasPrefix(op.Source.Version, "2.31-13"), op.Source.Version)
			assert.Contains(t, strings.Join(op.Source.Checks, "; "), "dpkg records no link targets")
		}
	}
	assert.Equal(t, 1, ops, "one op restores the symlink for both findings")

	applied(t, append([]string{"fix", root, "--apply", "--packages", debs}, only...)...)
	got, err := os.Readlink(lib)
	require.NoError(t, err)
	assert.Equal(t, "libnss_files-2.31.so", got)

	code, out, errOut = rescueCLI(t, append([]string{"scan", root}, checks...)...)
	assert.Equal(t, 0, code, "the rescan is clean:\n%s%s", out, errOut)

	code, _, errOut = rescueCLI(t, "undo", root)
	require.Equal(t, 0, code, errOut)
	after := checkstest.HashSnapshot(t, root)
	delete(after, "/var/lib/rescue")
	for p := range after {
		if strings.HasPrefix(p, "/var/lib/rescue/") {
			delete(after, p)
		}
	}
	assert.Equal(t, broken, after, "undo gives back the broken tree exactly")
}

// applied runs rescue fix --apply --json and checks that every planned
// fix was applied. The exit code says whether anything remains on the
// whole target (a minbase root has no kernel, for instance): 1 or 4.
func applied(t *testing.T, args ...string) fixJSON {
	t.Helper()
	code, out, errOut := rescueCLI(t, append(args, "--json")...)
	var rep fixJSON
	require.NoError(t, json.Unmarshal([]byte(out), &rep), "%s\n%s", out, errOut)
	require.Contains(t, []int{1, 4}, code, "%s\n%s", out, errOut)
	require.Empty(t, rep.Error)
	require.NotNil(t, rep.Result)
	require.NotEmpty(t, rep.Result.ID, "something was applied")
	for _, it := range rep.Result.Items {
		assert.Equal(t, "applied", it.Status, "%s: %s", it.Finding, it.Reason)
	}
	return rep
}
