// Package rpmdb reads RPM package databases and .rpm files without rpm: the
// header blobs of the installed packages from a Berkeley DB `Packages` file
// (either byte order), an NDB `Packages.db` or an SQLite `rpmdb.sqlite`
// (with its write-ahead log), and single files out of an .rpm payload.
// Nothing here writes to the files it reads.
package rpmdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

// Header tag data types (rpm's rpmTagType).
const (
	typeNull        = 0
	typeChar        = 1
	typeInt8        = 2
	typeInt16       = 3
	typeInt32       = 4
	typeInt64       = 5
	typeString      = 6
	typeBin         = 7
	typeStringArray = 8
	typeI18NString  = 9
)

// Limits from rpm's header.c: a header with more entries or data than this
// is corrupt (or hostile), and parsing it would only waste memory.
const (
	maxEntries  = 0xffff
	maxDataSize = 256 << 20
)

// ErrHeader is wrapped by every error about a malformed header blob.
var ErrHeader = errors.New("malformed rpm header")

type entry struct {
	typ    uint32
	offset uint32
	count  uint32
}

// Header is one parsed RPM header: the tag index of a blob and its data
// store. Lookups return zero values for absent or mistyped tags; the
// accessors never panic on any input, because the index was checked once
// when the header was parsed.
type Header struct {
	entries map[int32]entry
	data    []byte
}

// ParseHeader parses a header blob as the database stores it: the index
// length and data length (big-endian, as in every RPM header whatever the
// machine), the index and the data. Trailing bytes are ignored. The strings
// the header returns share blob's memory: blob must not change afterwards.
func ParseHeader(blob []byte) (*Header, error) {
	h, _, err := parseHeader(blob)
	return h, err
}

// parseHeader returns the header and the number of bytes it used.
func parseHeader(blob []byte) (*Header, int, error) {
	if len(blob) < 8 {
		return nil, 0, fmt.Errorf("%w: %d bytes, too short for a header", ErrHeader, len(blob))
	}
	il := binary.BigEndian.Uint32(blob[0:4])
	dl := binary.BigEndian.Uint32(blob[4:8])
	if il == 0 || il > maxEntries {
		return nil, 0, fmt.Errorf("%w: impossible index count %d", ErrHeader, il)
	}
	if dl > maxDataSize {
		return nil, 0, fmt.Errorf("%w: impossible data size %d", ErrHeader, dl)
	}
	need := 8 + uint64(il)*16 + uint64(dl)
	if uint64(len(blob)) < need {
		return nil, 0, fmt.Errorf("%w: %d index entries and %d data bytes need %d bytes, have %d", ErrHeader, il, dl, need, len(blob))
	}
	index := blob[8 : 8+int(il)*16]
	data := blob[8+int(il)*16 : int(need)]
	h := &Header{entries: make(map[int32]entry, il), data: data}
	for i := 0; i < int(il); i++ {
		e := index[i*16 : i*16+16]
		tag := int32(binary.BigEndian.Uint32(e[0:4]))
		ent := entry{
			typ:    binary.BigEndian.Uint32(e[4:8]),
			offset: binary.BigEndian.Uint32(e[8:12]),
			count:  binary.BigEndian.Uint32(e[12:16]),
		}
		if tag >= 61 && tag <= 63 {
			// Region tags (header signatures, immutable region) describe
			// the layout, not the package; their offsets may legally
			// point at the trailer, so they are not checked as data.
			continue
		}
		if err := checkEntry(ent, data); err != nil {
			return nil, 0, fmt.Errorf("%w: tag %d: %v", ErrHeader, tag, err)
		}
		h.entries[tag] = ent
	}
	return h, int(need), nil
}

// checkEntry makes sure an index entry's data lies inside the store, so the
// accessors can slice without further checks.
func checkEntry(e entry, data []byte) error {
	if e.typ > typeI18NString {
		return fmt.Errorf("unknown type %d", e.typ)
	}
	if e.count == 0 || e.count > maxDataSize {
		return fmt.Errorf("impossible count %d", e.count)
	}
	if uint64(e.offset) > uint64(len(data)) {
		return fmt.Errorf("offset %d beyond %d data bytes", e.offset, len(data))
	}
	rest := data[e.offset:]
	var size uint64
	switch e.typ {
	case typeNull:
		return nil
	case typeChar, typeInt8, typeBin:
		size = uint64(e.count)
	case typeInt16:
		size = 2 * uint64(e.count)
	case typeInt32:
		size = 4 * uint64(e.count)
	case typeInt64:
		size = 8 * uint64(e.count)
	case typeString:
		if e.count != 1 {
			return fmt.Errorf("string with count %d", e.count)
		}
		fallthrough
	case typeStringArray, typeI18NString:
		// Every string must end inside the store.
		n := 0
		for i := uint32(0); i < e.count; i++ {
			j := indexByte(rest[n:], 0)
			if j < 0 {
				return fmt.Errorf("string %d of %d runs past the data", i+1, e.count)
			}
			n += j + 1
		}
		return nil
	}
	if size > uint64(len(rest)) {
		return fmt.Errorf("%d bytes at offset %d run past %d data bytes", size, e.offset, len(data))
	}
	return nil
}

func indexByte(b []byte, c byte) int { return bytes.IndexByte(b, c) }

// Has reports whether the header holds tag.
func (h *Header) Has(tag int32) bool {
	_, ok := h.entries[tag]
	return ok
}

// String returns a string tag (the first string of an array or an i18n
// string), or "".
func (h *Header) String(tag int32) string {
	e, ok := h.entries[tag]
	if !ok {
		return ""
	}
	switch e.typ {
	case typeString, typeStringArray, typeI18NString:
		rest := h.data[e.offset:]
		return view(rest[:indexByte(rest, 0)])
	}
	return ""
}

// view returns the bytes as a string without copying them. A header's data
// is never written after it is parsed, and a large database has hundreds of
// thousands of file names, users and digests: copying each would dominate
// the time it takes to read it.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Strings returns a string array tag, or nil.
func (h *Header) Strings(tag int32) []string {
	e, ok := h.entries[tag]
	if !ok {
		return nil
	}
	switch e.typ {
	case typeString, typeStringArray, typeI18NString:
	default:
		return nil
	}
	rest := h.data[e.offset:]
	out := make([]string, 0, e.count)
	for i := uint32(0); i < e.count; i++ {
		j := indexByte(rest, 0)
		out = append(out, view(rest[:j]))
		rest = rest[j+1:]
	}
	return out
}

// Ints returns an integer tag of any width as int64 values, or nil. INT16
// and INT32 are unsigned in rpm (modes, sizes, times), and are returned so.
func (h *Header) Ints(tag int32) []int64 {
	e, ok := h.entries[tag]
	if !ok {
		return nil
	}
	d := h.data[e.offset:]
	n := int(e.count)
	var out []int64
	switch e.typ {
	case typeChar, typeInt8:
		out = make([]int64, n)
		for i := range n {
			out[i] = int64(d[i])
		}
	case typeInt16:
		out = make([]int64, n)
		for i := range n {
			out[i] = int64(binary.BigEndian.Uint16(d[2*i:]))
		}
	case typeInt32:
		out = make([]int64, n)
		for i := range n {
			out[i] = int64(binary.BigEndian.Uint32(d[4*i:]))
		}
	case typeInt64:
		out = make([]int64, n)
		for i := range n {
			out[i] = int64(binary.BigEndian.Uint64(d[8*i:]))
		}
	}
	return out
}

// Int returns the first value of an integer tag, and whether there is one.
func (h *Header) Int(tag int32) (int64, bool) {
	v := h.Ints(tag)
	if len(v) == 0 {
		return 0, false
	}
	return v[0], true
}

// Bytes returns a binary tag, or nil.
func (h *Header) Bytes(tag int32) []byte {
	e, ok := h.entries[tag]
	if !ok || (e.typ != typeBin && e.typ != typeChar && e.typ != typeInt8) {
		return nil
	}
	return h.data[e.offset : e.offset+e.count]
}

// Tags lists the tags present, for diagnostics.
func (h *Header) Tags() []int32 {
	out := make([]int32, 0, len(h.entries))
	for t := range h.entries {
		out = append(out, t)
	}
	return out
}

// intColumn reads the values of an integer tag one by one, without a slice
// of them; a zero column (absent or not an integer tag) has length 0.
type intColumn struct {
	d     []byte
	width int
	n     int
}

func (h *Header) intColumn(tag int32) intColumn {
	e, ok := h.entries[tag]
	if !ok {
		return intColumn{}
	}
	w := map[uint32]int{typeChar: 1, typeInt8: 1, typeInt16: 2, typeInt32: 4, typeInt64: 8}[e.typ]
	if w == 0 {
		return intColumn{}
	}
	return intColumn{d: h.data[e.offset:], width: w, n: int(e.count)}
}

func (c intColumn) at(i int) int64 {
	switch c.width {
	case 1:
		return int64(c.d[i])
	case 2:
		return int64(binary.BigEndian.Uint16(c.d[2*i:]))
	case 4:
		return int64(binary.BigEndian.Uint32(c.d[4*i:]))
	case 8:
		return int64(binary.BigEndian.Uint64(c.d[8*i:]))
	}
	return 0
}

// strColumn reads the strings of a string array tag in order.
type strColumn struct {
	rest []byte
	n    int
}

func (h *Header) strColumn(tag int32) strColumn {
	e, ok := h.entries[tag]
	if !ok {
		return strColumn{}
	}
	switch e.typ {
	case typeString, typeStringArray, typeI18NString:
		return strColumn{rest: h.data[e.offset:], n: int(e.count)}
	}
	return strColumn{}
}

// next returns the next string; the column was checked to hold n of them.
func (c *strColumn) next() string {
	j := indexByte(c.rest, 0)
	s := view(c.rest[:j])
	c.rest = c.rest[j+1:]
	return s
}

// strIndex gives random access to the strings of a string array tag
// through their offsets in the data store.
type strIndex struct {
	data []byte
	off  []uint32
}

func (h *Header) strIndex(tag int32) strIndex {
	c := h.strColumn(tag)
	if c.n == 0 {
		return strIndex{}
	}
	x := strIndex{data: h.data, off: make([]uint32, c.n)}
	base := len(h.data) - len(c.rest)
	pos := base
	for i := range c.n {
		x.off[i] = uint32(pos)
		j := indexByte(h.data[pos:], 0)
		pos += j + 1
	}
	return x
}

func (x strIndex) n() int { return len(x.off) }

// at returns string i, or "" for an absent column.
func (x strIndex) at(i int) string {
	if x.off == nil {
		return ""
	}
	rest := x.data[x.off[i]:]
	return view(rest[:indexByte(rest, 0)])
}
