// Package bootsector reads what a BIOS runs from a disk: the boot code of
// sector 0 (the MBR, or the protective MBR of a GPT disk) and, when that is
// GRUB 2's boot.img, the first sector of GRUB's core image (diskboot.img)
// with the list of sectors it loads the rest of the core from. The layout
// is GRUB's own (include/grub/i386/pc/boot.h): boot.img keeps the sector
// of core.img at 0x5c, diskboot.img its block lists backwards from 0x1f4.
package bootsector

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// SectorSize is the size of the sectors a BIOS reads.
const SectorSize = 512

// CodeSize is the boot code of an MBR: the bytes before the disk
// signature and the partition table.
const CodeSize = 440

// MBR is what sector 0 holds for a BIOS.
type MBR struct {
	// Signature: 0x55 0xAA ends the sector; a BIOS boots nothing else.
	Signature bool
	// CodeZero: the boot code is all zeros (wiped, or a disk that was
	// never made bootable by BIOS).
	CodeZero bool
	// Loader names the boot code: "grub2", "grub-legacy", "syslinux",
	// "dos" (an MS-DOS/Windows MBR that chains to the active partition),
	// "" when zero or not known.
	Loader string
	// KernelSector is, for GRUB 2, the disk sector the boot code loads
	// the core image from.
	KernelSector uint64
}

// Boot code signatures: strings each loader's MBR code prints.
var loaders = []struct {
	name string
	sig  []byte
}{
	// GRUB 2 boot.img: "GRUB \0Geom\0Hard Disk\0Read\0 Error\r\n".
	{"grub2", []byte("GRUB \x00Geom\x00Hard Disk\x00Read\x00 Error")},
	// GRUB Legacy stage1: "GRUB \0Geom\0Hard Disk\0Read\0 Error" too,
	// but without the 0x5c kernel sector layout; told apart below.
	{"syslinux", []byte("Missing OS")},
	{"dos", []byte("Invalid partition table")},
	{"lilo", []byte("LILO")},
}

// grubKernelSector is where boot.img keeps the sector of core.img.
const grubKernelSector = 0x5c

// ErrShort is returned for fewer bytes than a sector.
var ErrShort = errors.New("shorter than a sector")

// ParseMBR reads sector 0.
func ParseMBR(sector []byte) (MBR, error) {
	var m MBR
	if len(sector) < SectorSize {
		return m, ErrShort
	}
	m.Signature = sector[510] == 0x55 && sector[511] == 0xAA
	code := sector[:CodeSize]
	m.CodeZero = !bytes.ContainsFunc(code, func(r rune) bool { return r != 0 })
	if m.CodeZero {
		return m, nil
	}
	for _, l := range loaders {
		if bytes.Contains(code, l.sig) {
			m.Loader = l.name
			break
		}
	}
	if m.Loader == "grub2" {
		m.KernelSector = binary.LittleEndian.Uint64(sector[grubKernelSector:])
		// GRUB 2's boot.img jumps over the BPB to 0x63 (eb 63); GRUB
		// Legacy's stage1 to 0x48 (eb 48) and has no 64-bit sector.
		if sector[0] == 0xeb && sector[1] == 0x48 {
			m.Loader, m.KernelSector = "grub-legacy", 0
		}
	}
	return m, nil
}

// Block is a run of sectors diskboot.img loads.
type Block struct {
	Start uint64
	Len   uint16
}

// Diskboot is the first sector of a GRUB 2 core image.
type Diskboot struct {
	// Blocks are the sectors of the rest of the core image, in order.
	Blocks []Block
}

// Sectors is the number of sectors the block lists load.
func (d *Diskboot) Sectors() uint64 {
	var n uint64
	for _, b := range d.Blocks {
		n += uint64(b.Len)
	}
	return n
}

// diskbootSig is what diskboot.img prints.
var diskbootSig = []byte("loading\x00.\x00\r\n\x00Geom\x00Read\x00 Error")

// blockListEnd is where the first block list ends; each is 12 bytes
// (start: 8, length: 2, segment: 2), the next one below it.
const (
	firstList = 0x1f4
	listSize  = 12
)

// ParseDiskboot reads the first sector of a core image. It fails when
// the sector is not GRUB 2's diskboot.img.
func ParseDiskboot(sector []byte) (*Diskboot, error) {
	if len(sector) < SectorSize {
		return nil, ErrShort
	}
	if !bytes.Contains(sector[:firstList], diskbootSig) {
		return nil, errors.New("not GRUB's diskboot.img")
	}
	d := &Diskboot{}
	for off := firstList; off >= listSize*2; off -= listSize {
		start := binary.LittleEndian.Uint64(sector[off:])
		n := binary.LittleEndian.Uint16(sector[off+8:])
		if n == 0 {
			break
		}
		if start == 0 {
			return nil, fmt.Errorf("block list at 0x%x starts at sector 0", off)
		}
		d.Blocks = append(d.Blocks, Block{Start: start, Len: n})
		if len(d.Blocks) > 16 {
			return nil, errors.New("more than 16 block lists")
		}
	}
	if len(d.Blocks) == 0 {
		return nil, errors.New("diskboot.img lists no sectors to load")
	}
	return d, nil
}
