package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// PhysicalVolume is an LVM2 physical volume as its label and metadata say.
type PhysicalVolume struct {
	// Name is the PV's name inside the VG metadata ("pv0").
	Name string `json:"name"`
	UUID string `json:"uuid"`
	// Device is the device name the PV had when the metadata was written
	// (a hint only).
	Device string `json:"device,omitempty"`
	// PEStart is the byte offset of the first physical extent on the PV.
	PEStart int64 `json:"pe_start"`
	PECount int64 `json:"pe_count"`
}

// VolumeGroup is an LVM2 volume group read from a PV's text metadata.
type VolumeGroup struct {
	Name  string `json:"name"`
	UUID  string `json:"uuid"`
	Seqno int64  `json:"seqno"`
	// ExtentSize is the physical extent size in bytes.
	ExtentSize int64            `json:"extent_size"`
	PVs        []PhysicalVolume `json:"pvs"`
	LVs        []LogicalVolume  `json:"lvs"`
}

// LogicalVolume is an LV of a volume group.
type LogicalVolume struct {
	Name     string    `json:"name"`
	UUID     string    `json:"uuid"`
	Status   []string  `json:"status,omitempty"`
	Segments []Segment `json:"segments"`
}

// Visible reports whether the LV is one users see (not a hidden part of a
// thin pool, mirror or RAID LV).
func (lv *LogicalVolume) Visible() bool { return slices.Contains(lv.Status, "VISIBLE") }

// Segment is a run of the LV's logical extents.
type Segment struct {
	StartExtent int64 `json:"start_extent"`
	ExtentCount int64 `json:"extent_count"`
	// Type is "striped" for linear and striped segments; thin, thin-pool,
	// mirror, raid1, snapshot, cache, … otherwise.
	Type    string   `json:"type"`
	Stripes []Stripe `json:"stripes,omitempty"`
}

// Stripe is where a segment's extents lie: on which PV, from which
// physical extent.
type Stripe struct {
	PV          string `json:"pv"`
	StartExtent int64  `json:"start_extent"`
}

// PVLabel is what an LVM2 label says about the PV it sits on.
type PVLabel struct {
	UUID       string
	DeviceSize int64
	// Metadata areas: byte ranges of the PV holding the VG metadata.
	MDAs []Range
}

// Range is a byte range.
type Range struct {
	Offset int64 `json:"offset"`
	Size   int64 `json:"size"`
}

// LVM on-disk constants (lib/format_text/layout.h).
const (
	lvmMDAHeaderSize = 512
	lvmMDAMagic      = " LVM2 x[5A%r0N*>"
	lvmMaxMDA        = 64 << 20 // bound on a metadata area we read
)

// ErrNoLVM means the volume has no LVM2 label.
var ErrNoLVM = errors.New("no LVM2 label")

// ReadPVLabel reads the LVM2 label of a physical volume.
func ReadPVLabel(r io.ReaderAt, size int64) (*PVLabel, error) {
	p := &prober{r: r, size: size}
	for s := int64(0); s < 4; s++ {
		b := p.read(s*512, 512)
		if b == nil || !bytes.Equal(b[:8], []byte("LABELONE")) || !bytes.Equal(b[24:32], []byte("LVM2 001")) {
			continue
		}
		off := int(binary.LittleEndian.Uint32(b[20:]))
		if off < 32 || off+40 > 512 {
			return nil, fmt.Errorf("LVM2 label in sector %d is corrupt: header offset %d", s, off)
		}
		if got, want := lvmCRC(b[20:]), binary.LittleEndian.Uint32(b[16:]); got != want {
			return nil, fmt.Errorf("LVM2 label in sector %d is corrupt: checksum mismatch", s)
		}
		h := b[off:]
		l := &PVLabel{UUID: lvmUUID(h[:32]), DeviceSize: int64(binary.LittleEndian.Uint64(h[32:]))}
		// Two lists of (offset, size), each ended by a zero entry: the data
		// areas, then the metadata areas.
		i := 40
		readList := func() []Range {
			var out []Range
			for i+16 <= len(h) {
				o, n := binary.LittleEndian.Uint64(h[i:]), binary.LittleEndian.Uint64(h[i+8:])
				i += 16
				if o == 0 && n == 0 {
					break
				}
				out = append(out, Range{Offset: int64(o), Size: int64(n)})
			}
			return out
		}
		readList()
		l.MDAs = readList()
		if p.err != nil {
			return nil, p.err
		}
		return l, nil
	}
	if p.err != nil {
		return nil, p.err
	}
	return nil, ErrNoLVM
}

// ReadVG reads the newest volume group metadata from a PV's metadata areas.
func ReadVG(r io.ReaderAt, size int64) (*VolumeGroup, *PVLabel, error) {
	l, err := ReadPVLabel(r, size)
	if err != nil {
		return nil, nil, err
	}
	if len(l.MDAs) == 0 {
		return nil, l, fmt.Errorf("PV %s has no metadata area (pvcreate --metadatacopies 0): its VG is described only on other PVs", l.UUID)
	}
	var best *VolumeGroup
	var errs []error
	for _, mda := range l.MDAs {
		text, err := readMDAText(r, size, mda)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if text == nil {
			continue // an empty area: the PV belongs to no VG yet
		}
		vg, err := ParseVGMetadata(text)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if best == nil || vg.Seqno > best.Seqno {
			best = vg
		}
	}
	if best == nil {
		if len(errs) > 0 {
			return nil, l, fmt.Errorf("PV %s: %w", l.UUID, errors.Join(errs...))
		}
		return nil, l, fmt.Errorf("PV %s belongs to no volume group", l.UUID)
	}
	return best, l, nil
}

// readMDAText returns the current metadata text of a metadata area, or
// nil when it holds none.
func readMDAText(r io.ReaderAt, size int64, mda Range) ([]byte, error) {
	if mda.Offset < 0 || mda.Size < lvmMDAHeaderSize || mda.Size > lvmMaxMDA || mda.Offset+mda.Size > size {
		return nil, fmt.Errorf("metadata area at byte %d (%d bytes) lies outside the PV", mda.Offset, mda.Size)
	}
	h := make([]byte, lvmMDAHeaderSize)
	if _, err := r.ReadAt(h, mda.Offset); err != nil {
		return nil, fmt.Errorf("reading the metadata area at byte %d: %w", mda.Offset, err)
	}
	if !bytes.Equal(h[4:20], []byte(lvmMDAMagic)) {
		return nil, fmt.Errorf("metadata area at byte %d has no LVM2 header", mda.Offset)
	}
	if got, want := lvmCRC(h[4:]), binary.LittleEndian.Uint32(h[0:]); got != want {
		return nil, fmt.Errorf("metadata area header at byte %d is corrupt: checksum mismatch", mda.Offset)
	}
	// The first raw location is the committed metadata; its offset is
	// relative to the area, and the text wraps around to just after the
	// header when it reaches the end of the area.
	loc := h[40:]
	off, n := int64(binary.LittleEndian.Uint64(loc[0:])), int64(binary.LittleEndian.Uint64(loc[8:]))
	sum, flags := binary.LittleEndian.Uint32(loc[16:]), binary.LittleEndian.Uint32(loc[20:])
	if off == 0 || n == 0 || flags&1 != 0 {
		return nil, nil
	}
	if off < lvmMDAHeaderSize || off >= mda.Size || n > mda.Size-lvmMDAHeaderSize {
		return nil, fmt.Errorf("metadata area at byte %d: the text (offset %d, %d bytes) does not fit in it", mda.Offset, off, n)
	}
	text := make([]byte, n)
	first := min(n, mda.Size-off)
	if _, err := r.ReadAt(text[:first], mda.Offset+off); err != nil {
		return nil, fmt.Errorf("reading metadata at byte %d: %w", mda.Offset+off, err)
	}
	if first < n {
		if _, err := r.ReadAt(text[first:], mda.Offset+lvmMDAHeaderSize); err != nil {
			return nil, fmt.Errorf("reading metadata at byte %d: %w", mda.Offset+lvmMDAHeaderSize, err)
		}
	}
	if got := lvmCRC(text); got != sum {
		return nil, fmt.Errorf("metadata text at byte %d is corrupt: checksum mismatch", mda.Offset+off)
	}
	return text, nil
}

// ParseVGMetadata reads LVM2 text metadata: one volume group section
// (with the extent size in sectors, its physical volumes and logical
// volumes) and a few global settings.
func ParseVGMetadata(text []byte) (*VolumeGroup, error) {
	root, err := parseConf(text)
	if err != nil {
		return nil, err
	}
	var sec *confNode
	for _, c := range root.Children {
		if c.Section {
			if sec != nil {
				return nil, fmt.Errorf("LVM metadata holds more than one volume group (%s, %s)", sec.Name, c.Name)
			}
			sec = c
		}
	}
	if sec == nil {
		return nil, errors.New("LVM metadata holds no volume group")
	}
	vg := &VolumeGroup{Name: sec.Name, UUID: sec.str("id")}
	vg.Seqno, _ = sec.num("seqno")
	ext, ok := sec.num("extent_size")
	if !ok || ext <= 0 || ext > 1<<40 {
		return nil, fmt.Errorf("VG %s: extent_size is missing or invalid", vg.Name)
	}
	vg.ExtentSize = ext * 512
	if pvs := sec.child("physical_volumes"); pvs != nil {
		for _, c := range pvs.Children {
			if !c.Section {
				continue
			}
			pv := PhysicalVolume{Name: c.Name, UUID: c.str("id"), Device: c.str("device")}
			pe, _ := c.num("pe_start")
			pv.PEStart = pe * 512
			pv.PECount, _ = c.num("pe_count")
			if pe < 0 || pv.PECount < 0 {
				return nil, fmt.Errorf("VG %s: PV %s has a negative pe_start or pe_count", vg.Name, c.Name)
			}
			vg.PVs = append(vg.PVs, pv)
		}
	}
	if lvs := sec.child("logical_volumes"); lvs != nil {
		for _, c := range lvs.Children {
			if !c.Section {
				continue
			}
			lv := LogicalVolume{Name: c.Name, UUID: c.str("id"), Status: c.strings("status")}
			for _, s := range c.Children {
				if !s.Section || !strings.HasPrefix(s.Name, "segment") {
					continue
				}
				seg := Segment{Type: s.str("type")}
				seg.StartExtent, _ = s.num("start_extent")
				seg.ExtentCount, _ = s.num("extent_count")
				if st := s.child("stripes"); st != nil && st.IsList {
					for i := 0; i+1 < len(st.List); i += 2 {
						if st.List[i].IsNum || !st.List[i+1].IsNum {
							return nil, fmt.Errorf("VG %s: LV %s: the stripes list is malformed", vg.Name, lv.Name)
						}
						seg.Stripes = append(seg.Stripes, Stripe{PV: st.List[i].Str, StartExtent: st.List[i+1].Num})
					}
				}
				lv.Segments = append(lv.Segments, seg)
			}
			slices.SortFunc(lv.Segments, func(a, b Segment) int { return int(a.StartExtent - b.StartExtent) })
			vg.LVs = append(vg.LVs, lv)
		}
	}
	return vg, nil
}

// PV returns the physical volume named name ("pv0") or with that UUID.
func (vg *VolumeGroup) PV(name string) *PhysicalVolume {
	for i := range vg.PVs {
		if vg.PVs[i].Name == name || vg.PVs[i].UUID == name {
			return &vg.PVs[i]
		}
	}
	return nil
}

// LV returns the logical volume named name, or nil.
func (vg *VolumeGroup) LV(name string) *LogicalVolume {
	for i := range vg.LVs {
		if vg.LVs[i].Name == name {
			return &vg.LVs[i]
		}
	}
	return nil
}

// LinearRange returns the byte range an LV occupies on its physical
// volume when it is linear: every segment a single stripe on the same PV,
// each following the one before, so that the LV is one run of bytes that a
// loop device with an offset and a size can reach without device-mapper.
// Otherwise it says why not.
func (vg *VolumeGroup) LinearRange(lv *LogicalVolume) (pv *PhysicalVolume, r Range, err error) {
	if len(lv.Segments) == 0 {
		return nil, Range{}, fmt.Errorf("LV %s/%s has no segments", vg.Name, lv.Name)
	}
	var next int64 // the physical extent the next segment must start at
	for i, s := range lv.Segments {
		if s.Type != "striped" {
			return nil, Range{}, fmt.Errorf("LV %s/%s is of type %s, not linear", vg.Name, lv.Name, s.Type)
		}
		if len(s.Stripes) != 1 {
			return nil, Range{}, fmt.Errorf("LV %s/%s is striped over %d PVs, not linear", vg.Name, lv.Name, len(s.Stripes))
		}
		if s.ExtentCount <= 0 || s.StartExtent < 0 || s.Stripes[0].StartExtent < 0 {
			return nil, Range{}, fmt.Errorf("LV %s/%s: segment %d is invalid", vg.Name, lv.Name, i+1)
		}
		p := vg.PV(s.Stripes[0].PV)
		if p == nil {
			return nil, Range{}, fmt.Errorf("LV %s/%s lies on %s, which the VG does not list", vg.Name, lv.Name, s.Stripes[0].PV)
		}
		if i == 0 {
			if s.StartExtent != 0 {
				return nil, Range{}, fmt.Errorf("LV %s/%s: its first segment starts at extent %d", vg.Name, lv.Name, s.StartExtent)
			}
			pv = p
			r.Offset = p.PEStart + s.Stripes[0].StartExtent*vg.ExtentSize
		} else if p != pv {
			return nil, Range{}, fmt.Errorf("LV %s/%s spans two PVs (%s and %s)", vg.Name, lv.Name, pv.Name, p.Name)
		} else if s.Stripes[0].StartExtent != next {
			return nil, Range{}, fmt.Errorf("LV %s/%s has %d segments that are not contiguous on %s", vg.Name, lv.Name, len(lv.Segments), pv.Name)
		}
		if s.Stripes[0].StartExtent+s.ExtentCount > pv.PECount && pv.PECount > 0 {
			return nil, Range{}, fmt.Errorf("LV %s/%s runs past the last extent of %s", vg.Name, lv.Name, pv.Name)
		}
		next = s.Stripes[0].StartExtent + s.ExtentCount
		r.Size += s.ExtentCount * vg.ExtentSize
	}
	return pv, r, nil
}

// MapperName is the device-mapper name LVM gives an LV
// (/dev/mapper/VG-LV, with dashes in either name doubled).
func MapperName(vg, lv string) string {
	return "/dev/mapper/" + strings.ReplaceAll(vg, "-", "--") + "-" + strings.ReplaceAll(lv, "-", "--")
}
