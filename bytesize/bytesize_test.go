package bytesize

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		n    int64
		s    Style
		want string
	}{
		{512, Tenths, "512 B"},
		{1536, Tenths, "1.5 KiB"},
		{2 << 30, Tenths, "2.0 GiB"},
		{3 << 50, Tenths, "3.0 PiB"},
		{2 << 30, Short, "2 GiB"},
		{3 << 29, Short, "1.5 GiB"},
		{1023, Short, "1023 B"},
		{2 << 40, Download, "2048.0 GiB"},
		{100, Memory, "0 KiB"},
		{(1 << 30) - 1, Memory, "1023 MiB"},
		{4 << 30, Memory, "4.0 GiB"},
		{4 << 30, MemoryShort, "4 GiB"},
		{(4 << 30) + (1 << 29), MemoryShort, "4.5 GiB"},
		{1 << 40, MemoryShort, "1024 GiB"},
	} {
		assert.Equal(t, c.want, Format(c.n, c.s), "%d in %+v", c.n, c.s)
	}
}

// The five formatters the styles replace, as they were written, so that
// the test proves each style writes what its caller wrote before.
func oldSysctl(b int64) string {
	const kib, mib, gib = 1 << 10, 1 << 20, 1 << 30
	switch {
	case b >= gib && b%gib == 0:
		return fmt.Sprintf("%d GiB", b/gib)
	case b >= gib:
		return fmt.Sprintf("%.1f GiB", float64(b)/float64(gib))
	case b >= mib:
		return fmt.Sprintf("%d MiB", b/mib)
	}
	return fmt.Sprintf("%d KiB", b/kib)
}

func oldFsstate(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n) / unit
	u := 0
	for v >= unit && u < 4 {
		v /= unit
		u++
	}
	return fmt.Sprintf("%.1f %s", v, []string{"KiB", "MiB", "GiB", "TiB", "PiB"}[u])
}

func oldDisk(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n), 0
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	for v /= unit; v >= unit && u < len(units)-1; u++ {
		v /= unit
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), units[u])
	}
	return fmt.Sprintf("%.1f %s", v, units[u])
}

func oldDownload(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func oldEvidence(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%d MiB", b>>20)
	}
	return fmt.Sprintf("%d KiB", b>>10)
}

// Up to 2^53 bytes (8 PiB), where every count is exact as a float64; above
// it the old formatters disagreed among themselves on what "exact" meant.
func TestStylesWriteWhatTheirCallersWrote(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var ns []int64
	for shift := 0; shift < 53; shift++ {
		p := int64(1) << shift
		ns = append(ns, p-1, p, p+1, p+p/2, 3*p)
	}
	for i := 0; i < 20000; i++ {
		ns = append(ns, r.Int63()>>(10+r.Intn(53)))
	}
	for _, n := range ns {
		if n < 0 || n >= 1<<53 {
			continue
		}
		require.Equal(t, oldSysctl(n), Format(n, MemoryShort), "sysctl %d", n)
		require.Equal(t, oldFsstate(uint64(n)), Format(n, Tenths), "fsstate %d", n)
		require.Equal(t, oldDisk(n), Format(n, Short), "disk %d", n)
		require.Equal(t, oldDownload(n), Format(n, Download), "download %d", n)
		require.Equal(t, oldEvidence(n), Format(n, Memory), "evidence %d", n)
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]int64{"512": 512, "64K": 64 << 10, "1M": 1 << 20, "2g": 2 << 30, "1T": 1 << 40, "4GiB": 4 << 30, " 8 ": 8, "3KB": 3 << 10} {
		n, err := Parse(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, n, in)
	}
	for _, in := range []string{"", "B", "-1", "1X", "1.5G", "99999999999T"} {
		_, err := Parse(in)
		assert.Error(t, err, in)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("4GiB")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err == nil && n < 0 {
			t.Fatalf("Parse(%q) = %d", s, n)
		}
	})
}
