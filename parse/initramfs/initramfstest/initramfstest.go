// Package initramfstest builds real initramfs images for tests: an optional
// uncompressed early-microcode archive followed by a cpio archive
// compressed with gzip, xz, zstd, lz4 (legacy frame, as the kernel wants)
// or lzma. The output is deterministic (sorted entries, zero mtimes), so a
// test can build the same image twice and compare bytes.
package initramfstest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"rescue/parse/cpio"
)

// Spec describes an image.
type Spec struct {
	// Compression of the main archive: "none", "gzip", "xz", "zstd",
	// "lz4" or "lzma".
	Compression string
	// Early puts an uncompressed archive holding
	// kernel/x86/microcode/GenuineIntel.bin first, as dracut and
	// initramfs-tools do on x86.
	Early bool
	// Files are the paths of the main archive, without a leading slash. A
	// path ending in "/" is a directory; "a -> b" is a symlink; anything
	// else is a file whose content is derived from its name. Parent
	// directories are added.
	Files []string
}

// Microcode is the early archive's file.
const Microcode = "kernel/x86/microcode/GenuineIntel.bin"

// Build returns the image.
func Build(s Spec) ([]byte, error) {
	var out bytes.Buffer
	if s.Early {
		if err := archive(&out, []string{Microcode}); err != nil {
			return nil, err
		}
	}
	var main bytes.Buffer
	if err := archive(&main, s.Files); err != nil {
		return nil, err
	}
	w, err := compressor(s.Compression, &out)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(main.Bytes()); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func compressor(kind string, w io.Writer) (io.WriteCloser, error) {
	switch kind {
	case "none", "":
		return nopCloser{w}, nil
	case "gzip":
		return gzip.NewWriterLevel(w, gzip.BestCompression)
	case "xz":
		// The kernel's xz decoder wants CRC32 checks, as dracut and
		// initramfs-tools write them (xz --check=crc32).
		return xz.WriterConfig{CheckSum: xz.CRC32}.NewWriter(w)
	case "zstd":
		return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
	case "lz4":
		z := lz4.NewWriter(w)
		if err := z.Apply(lz4.LegacyOption(true)); err != nil {
			return nil, err
		}
		return z, nil
	case "lzma":
		return lzma.NewWriter(w)
	}
	return nil, fmt.Errorf("unknown compression %q", kind)
}

// Content is the data Build gives a file.
func Content(name string) []byte { return []byte("content of " + name + "\n") }

func archive(w io.Writer, files []string) error {
	type ent struct {
		name, target string
		mode         uint32
	}
	m := map[string]ent{}
	var addDirs func(string)
	addDirs = func(p string) {
		d := path.Dir(p)
		if d == "." || d == "/" {
			return
		}
		if _, ok := m[d]; !ok {
			m[d] = ent{name: d, mode: cpio.TypeDir | 0o755}
		}
		addDirs(d)
	}
	for _, f := range files {
		f = strings.TrimPrefix(strings.TrimSpace(f), "/")
		if f == "" {
			continue
		}
		var e ent
		switch {
		case strings.Contains(f, " -> "):
			n, t, _ := strings.Cut(f, " -> ")
			e = ent{name: n, target: t, mode: cpio.TypeLink | 0o777}
		case strings.HasSuffix(f, "/"):
			e = ent{name: strings.TrimSuffix(f, "/"), mode: cpio.TypeDir | 0o755}
		default:
			e = ent{name: f, mode: cpio.TypeReg | 0o644}
		}
		m[e.name] = e
		addDirs(e.name)
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	cw := cpio.NewWriter(w)
	for _, n := range names {
		e := m[n]
		var data []byte
		switch e.mode & cpio.TypeMask {
		case cpio.TypeReg:
			data = Content(n)
		case cpio.TypeLink:
			data = []byte(e.target)
		}
		if err := cw.WriteFile(cpio.Header{Name: n, Mode: e.mode}, data); err != nil {
			return err
		}
	}
	return cw.Close()
}
