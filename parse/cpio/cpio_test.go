package cpio

import (
	"bufio"
	"bytes"
	"errors"
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

// strippedSample is an rpm payload whose first entry is in rpm's stripped
// form (as rpm's lib/cpio.c writes it: magic, index, padding to 4, data,
// padding), then an ordinary entry and the trailer.
func strippedSample(t testing.TB) []byte {
	var b bytes.Buffer
	b.WriteString("07070X0000000a\x00\x00hello\x00\x00\x00")
	w := NewWriter(&b)
	require.NoError(t, w.WriteFile(Header{Name: "./etc/t.conf", Mode: TypeReg | 0o644}, []byte("x\n")))
	require.NoError(t, w.Close())
	return b.Bytes()
}

func TestStripped(t *testing.T) {
	data := strippedSample(t)
	r := NewReader(bufio.NewReader(bytes.NewReader(data)))
	_, err := r.Next()
	require.ErrorIs(t, err, ErrMagic, "stripped entries only where the caller knows their sizes")

	r = NewReader(bufio.NewReader(bytes.NewReader(data)))
	r.StrippedSize = func(i uint32) (int64, error) {
		if i != 10 {
			return 0, errors.New("no such file")
		}
		return 5, nil
	}
	h, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, Header{Stripped: true, Index: 10, Size: 5}, *h)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))
	h, err = r.Next()
	require.NoError(t, err)
	assert.Equal(t, "./etc/t.conf", h.Name)
	_, err = r.Next()
	assert.Equal(t, io.EOF, err)
	assert.Equal(t, int64(len(data)), r.Offset())

	bad := bytes.Replace(data, []byte("0000000a"), []byte("0000000b"), 1)
	r = NewReader(bufio.NewReader(bytes.NewReader(bad)))
	r.StrippedSize = func(i uint32) (int64, error) { return 0, errors.New("no such file") }
	_, err = r.Next()
	assert.ErrorContains(t, err, "no such file")
	bad = bytes.Replace(data, []byte("0000000a"), []byte("0000000z"), 1)
	r = NewReader(bufio.NewReader(bytes.NewReader(bad)))
	r.StrippedSize = func(i uint32) (int64, error) { return 5, nil }
	_, err = r.Next()
	assert.ErrorContains(t, err, "not hexadecimal")
}

func FuzzReader(f *testing.F) {
	f.Add(sample(f))
	f.Add(strippedSample(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bufio.NewReader(bytes.NewReader(data)))
		r.StrippedSize = func(i uint32) (int64, error) {
			if i > 100 {
				return 0, errors.New("no such file")
			}
			return int64(i) * 7, nil
		}
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
