package cpio

import (
	"fmt"
	"io"
)

// Writer writes a newc archive. It exists for building test images and
// for tools; rescue itself never writes an initramfs (the target's own
// dracut or update-initramfs does).
type Writer struct {
	w   io.Writer
	ino uint32
	err error
}

// NewWriter writes an archive to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w, ino: 1} }

// WriteFile writes one entry with its data (a symlink's data is its
// target; a directory has none).
func (w *Writer) WriteFile(h Header, data []byte) error {
	if w.err != nil {
		return w.err
	}
	h.Size = int64(len(data))
	if h.NLink == 0 {
		h.NLink = 1
		if h.Mode&TypeMask == TypeDir {
			h.NLink = 2
		}
	}
	if h.Ino == 0 && h.Name != Trailer {
		h.Ino = w.ino
		w.ino++
	}
	name := h.Name + "\x00"
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		h.Ino, h.Mode, h.UID, h.GID, h.NLink, h.Mtime, uint32(h.Size), h.DevMajor, h.DevMinor, h.RMajor, h.RMinor, len(name), 0)
	buf := make([]byte, 0, len(hdr)+len(name)+3+len(data)+3)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, make([]byte, pad4(len(hdr)+len(name)))...)
	buf = append(buf, data...)
	buf = append(buf, make([]byte, pad4(len(data)))...)
	_, w.err = w.w.Write(buf)
	return w.err
}

// Close writes the trailer.
func (w *Writer) Close() error {
	return w.WriteFile(Header{Name: Trailer, NLink: 1}, nil)
}
