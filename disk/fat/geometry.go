package fat

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Geometry is a FAT boot sector's layout.
type Geometry struct {
	BytesPerSector    uint32
	SectorsPerCluster uint32
	Reserved          uint32
	FATs              uint32
	RootEntries       uint32
	TotalSectors      uint32
	FATSectors        uint32
	RootCluster       uint32
	FAT32             bool
	Clusters          uint32
}

// ParseGeometry reads the layout of a FAT boot sector (512 bytes that
// LooksLikeBoot accepts).
func ParseGeometry(b []byte) (*Geometry, error) {
	le := binary.LittleEndian
	g := &Geometry{
		BytesPerSector: uint32(le.Uint16(b[11:])), SectorsPerCluster: uint32(b[13]), Reserved: uint32(le.Uint16(b[14:])),
		FATs: uint32(b[16]), RootEntries: uint32(le.Uint16(b[17:])), TotalSectors: uint32(le.Uint16(b[19:])),
		FATSectors: uint32(le.Uint16(b[22:])),
	}
	if g.TotalSectors == 0 {
		g.TotalSectors = le.Uint32(b[32:])
	}
	if g.FATSectors == 0 {
		g.FAT32 = true
		g.FATSectors = le.Uint32(b[36:])
		g.RootCluster = le.Uint32(b[44:])
	}
	rootSectors := (g.RootEntries*32 + g.BytesPerSector - 1) / g.BytesPerSector
	meta := uint64(g.Reserved) + uint64(g.FATs)*uint64(g.FATSectors) + uint64(rootSectors)
	if g.FATSectors == 0 || g.TotalSectors == 0 || meta >= uint64(g.TotalSectors) {
		return nil, fmt.Errorf("FAT boot sector is corrupt: %d sectors in all, %d reserved, %d FATs of %d sectors", g.TotalSectors, g.Reserved, g.FATs, g.FATSectors)
	}
	g.Clusters = uint32((uint64(g.TotalSectors) - meta) / uint64(g.SectorsPerCluster))
	return g, nil
}

// Version is FAT12, FAT16 or FAT32.
func (g *Geometry) Version() string {
	switch {
	case g.FAT32:
		return "FAT32"
	case g.Clusters < 4085:
		return "FAT12"
	}
	return "FAT16"
}

// LooksLikeBoot reports whether a sector is a FAT boot sector: a jump
// instruction, a sane BIOS parameter block and a FAT type string.
func LooksLikeBoot(b []byte) bool {
	if len(b) < 512 || !(b[0] == 0xeb && b[2] == 0x90 || b[0] == 0xe9) {
		return false
	}
	bps := binary.LittleEndian.Uint16(b[11:])
	spc := b[13]
	if bps < 512 || bps > 4096 || bps&(bps-1) != 0 || spc == 0 || spc&(spc-1) != 0 {
		return false
	}
	if binary.LittleEndian.Uint16(b[14:]) == 0 || b[16] == 0 {
		return false
	}
	return bytes.HasPrefix(b[54:], []byte("FAT")) || bytes.HasPrefix(b[82:], []byte("FAT")) ||
		bytes.HasPrefix(b[3:], []byte("MSDOS")) || bytes.HasPrefix(b[3:], []byte("MSWIN")) || bytes.HasPrefix(b[3:], []byte("mkfs.fat"))
}
