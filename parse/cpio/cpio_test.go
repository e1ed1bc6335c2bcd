package cpio

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sample(t testing.TB) []byte {
	var b bytes.Buffer
	w := NewWriter(&b)
	require.NoError(t, w.WriteFile(Header{Name: "usr", Mode: TypeDir | 0o755}, nil))
	require.NoError(t, w.WriteFile(Header{Name: "usr/lib/modules/6.1.0-18-amd64/kernel/drivers/block/virtio_blk.ko", Mode: TypeReg | 0o644}, []byte("modulebytes")))
	require.NoError(t, w.WriteFile(Header{Name: "lib", Mode: TypeLink | 0o777}, []byte("usr/lib")))
	require.NoError(t, w.WriteFile(Header{Name: "init", Mode: TypeReg | 0o755}, []byte("#!/bin/sh\n")))
	require.NoError(t, w.Close())
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	data := sample(t)
	r := NewReader(bufio.NewReader(bytes.NewReader(data)))
	var names []string
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
		if h.Name == "lib" {
			b, err := io.ReadAll(r)
			require.NoError(t, err)
			assert.Equal(t, "usr/lib", string(b))
			assert.Equal(t, uint32(TypeLink), h.Mode&TypeMask)
		}
	}
	assert.Equal(t, []string{"usr", "usr/lib/modules/6.1.0-18-amd64/kernel/drivers/block/virtio_blk.ko", "lib", "init"}, names)
	assert.Equal(t, int64(len(data)), r.Offset(), "the reader consumed the whole archive, trailer padding included")
	_, err := r.Next()
	assert.Equal(t, io.EOF, err)
}

// TestSystemCpio reads an archive written by GNU cpio, when it is installed.
func TestSystemCpio(t *testing.T) {
	cpio, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("GNU cpio is not installed (apt-get install cpio)")
	}
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", "mkdir -p a/b && echo hello > a/b/c && ln -s b a/l && printf 'a\\na/b\\na/b/c\\na/l\\n' | "+cpio+" -o -H newc --quiet > out.cpio")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	data, err := os.ReadFile(filepath.Join(dir, "out.cpio"))
	require.NoError(t, err)
	r := NewReader(bufio.NewReader(bytes.NewReader(data)))
	var names []string
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
	}
	assert.Equal(t, []string{"a", "a/b", "a/b/c", "a/l"}, names)
}

func TestCorrupt(t *testing.T) {
	data := sample(t)
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"truncated header", data[:50]},
		{"truncated data", data[:200]},
		{"bad magic", append([]byte("070707"), data[6:]...)},
		{"bad hex", append([]byte("070701zz"), data[8:]...)},
	} {
		r := NewReader(bufio.NewReader(bytes.NewReader(c.data)))
		var err error
		for err == nil {
			_, err = r.Next()
		}
		assert.NotEqual(t, io.EOF, err, c.name)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(sample(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bufio.NewReader(bytes.NewReader(data)))
		for i := 0; i < 10000; i++ {
			h, err := r.Next()
			if err != nil {
				return
			}
			if len(h.Name) > MaxNameSize {
				t.Fatalf("name of %d bytes", len(h.Name))
			}
			io.Copy(io.Discard, r)
		}
	})
}
