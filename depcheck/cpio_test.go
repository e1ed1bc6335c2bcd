package depcheck

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	cavcpio "github.com/cavaliergopher/cpio"
	"github.com/stretchr/testify/require"

	"rescue/parse/cpio"
)

// newcArchive makes a newc archive of a small tree with GNU cpio, as
// mkinitramfs and dracut do.
func newcArchive(t *testing.T) []byte {
	t.Helper()
	need(t, "cpio")
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "usr/lib/modules"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "init"), []byte("#!/bin/sh\nexec /sbin/init\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "usr/lib/modules/virtio_blk.ko"), bytes.Repeat([]byte("ko"), 5001), 0o644))
	require.NoError(t, os.Symlink("usr/lib", filepath.Join(dir, "lib")))
	cmd := exec.Command("sh", "-c", "find . | LC_ALL=C sort | cpio -o -H newc --quiet")
	cmd.Dir = dir
	out, err := cmd.Output()
	require.NoError(t, err)
	return out
}

type cpioEntry struct {
	Name string
	Mode uint32
	Size int64
}

func readOursCpio(data []byte) ([]cpioEntry, error) {
	r := cpio.NewReader(bufio.NewReader(bytes.NewReader(data)))
	var out []cpioEntry
	for {
		h, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, cpioEntry{h.Name, h.Mode, h.Size})
	}
}

func readCavCpio(data []byte) ([]cpioEntry, error) {
	r := cavcpio.NewReader(bytes.NewReader(data))
	var out []cpioEntry
	for {
		h, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		size := h.Size
		if h.Linkname != "" {
			size = int64(len(h.Linkname))
		}
		out = append(out, cpioEntry{h.Name, uint32(h.Mode), size})
	}
}

// On GNU cpio's output cavaliergopher/cpio and parse/cpio read the same
// entries (names, modes, sizes).
func TestCpioAgrees(t *testing.T) {
	data := newcArchive(t)
	ours, err := readOursCpio(data)
	require.NoError(t, err)
	theirs, err := readCavCpio(data)
	require.NoError(t, err)
	require.Equal(t, ours, theirs)
	require.Len(t, ours, 7)
}

// A header field that is not hexadecimal (a damaged mode here) is read by
// cavaliergopher/cpio as 0, without an error: the entry comes back as a
// file of no type. parse/cpio says which field of which header is wrong.
func TestCpioNonHexField(t *testing.T) {
	data := newcArchive(t)
	i := bytes.Index(data, []byte("init\x00"))
	require.Positive(t, i)
	hdr := i - 110
	bad := bytes.Clone(data)
	copy(bad[hdr+14:], "0000ZZZZ") // c_mode
	_, err := readOursCpio(bad)
	require.ErrorContains(t, err, "is not hexadecimal")

	theirs, err := readCavCpio(bad)
	require.NoError(t, err, "cavaliergopher/cpio now refuses a non-hexadecimal field: revisit the cpio line of docs/dependencies.md")
	for _, e := range theirs {
		if e.Name == "init" {
			require.Zero(t, e.Mode)
		}
	}
}

// rpm writes the payload entries of packages with a file of 4 GiB or more
// in a stripped form (magic 07070X, the file's index in the header):
// cavaliergopher/cpio refuses the magic; parse/cpio reads it when the
// caller gives the sizes (rpmdb/rpmfile.go does).
func TestCpioStripped(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("07070X0000000a\x00\x00hello\x00\x00\x00")
	w := cpio.NewWriter(&b)
	require.NoError(t, w.Close())
	r := cpio.NewReader(bufio.NewReader(bytes.NewReader(b.Bytes())))
	r.StrippedSize = func(uint32) (int64, error) { return 5, nil }
	h, err := r.Next()
	require.NoError(t, err)
	require.True(t, h.Stripped)

	_, err = cavcpio.NewReader(bytes.NewReader(b.Bytes())).Next()
	t.Logf("cavaliergopher/cpio: %v", err)
	require.Error(t, err, "cavaliergopher/cpio now reads rpm's stripped entries: revisit docs/dependencies.md")
}
