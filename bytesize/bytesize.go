// Package bytesize reads and writes byte counts in powers of 1024: the
// --memory flag and golden preludes are read with Parse, and every size a
// finding, a report or the probe output shows is written with Format.
//
// The places that show sizes wrote them in five slightly different ways,
// and findings, goldens and the probe output pin those texts; a Style names
// each way, so that one function writes them all and the texts stay as
// they were.
package bytesize

import (
	"fmt"
	"strconv"
	"strings"
)

// Unit is a power of 1024.
type Unit int

// The units, each 1024 times the one before.
const (
	B Unit = iota
	KiB
	MiB
	GiB
	TiB
	PiB
)

var names = [...]string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}

func (u Unit) String() string { return names[u] }

// Style is a way of writing a size: the number is written in the largest
// unit from Min to Max that it reaches (in Min when it reaches none).
type Style struct {
	Min, Max Unit
	// WholeBelow: in a unit below it the number is written whole, rounded
	// down ("1023 MiB"); from it up, with one decimal ("1.5 GiB").
	WholeBelow Unit
	// TrimZero writes an exact number without its ".0" ("2 GiB").
	TrimZero bool
}

// The styles in use.
var (
	// Tenths: one decimal from KiB up, up to PiB ("512 B", "1.5 KiB",
	// "2.0 GiB"). The fsstate check's largest files and directories.
	Tenths = Style{Min: B, Max: PiB, WholeBelow: KiB}
	// Short: like Tenths without a needless ".0" ("2 GiB", "1.5 GiB").
	// Disk and partition sizes in `rescue probe`.
	Short = Style{Min: B, Max: PiB, WholeBelow: KiB, TrimZero: true}
	// Download: like Tenths, up to GiB. Package download sizes.
	Download = Style{Min: B, Max: GiB, WholeBelow: KiB}
	// Memory: KiB, MiB or GiB, whole KiB and MiB ("512 MiB", "1.5 GiB").
	// RAM as the last boot's kernel log gave it.
	Memory = Style{Min: KiB, Max: GiB, WholeBelow: GiB}
	// MemoryShort: Memory without a needless ".0" ("4 GiB"). Memory a
	// sysctl reserves, and the instance's RAM it is compared with.
	MemoryShort = Style{Min: KiB, Max: GiB, WholeBelow: GiB, TrimZero: true}
)

// Format writes n bytes in style s.
func Format(n int64, s Style) string {
	u := s.Min
	for u < s.Max && n >= 1<<(10*(u+1)) {
		u++
	}
	if u < s.WholeBelow {
		return fmt.Sprintf("%d %s", n/(int64(1)<<(10*u)), u)
	}
	size := int64(1) << (10 * u)
	if s.TrimZero && n%size == 0 {
		return fmt.Sprintf("%d %s", n/size, u)
	}
	return fmt.Sprintf("%.1f %s", float64(n)/float64(size), u)
}

// Parse reads a size such as 512, 64K, 1M, 2G or 1T (powers of 1024; a
// trailing B or iB is accepted).
func Parse(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	u = strings.TrimSuffix(strings.TrimSuffix(u, "B"), "I")
	if u == "" {
		return 0, fmt.Errorf("size %q: want a number with an optional K, M, G or T", s)
	}
	mult := int64(1)
	switch u[len(u)-1] {
	case 'K':
		mult = 1 << 10
	case 'M':
		mult = 1 << 20
	case 'G':
		mult = 1 << 30
	case 'T':
		mult = 1 << 40
	}
	if mult > 1 {
		u = u[:len(u)-1]
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: want a number with an optional K, M, G or T", s)
	}
	return n * mult, nil
}
