package kver

import (
	"slices"
	"testing"
)

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"6.1.0-18-amd64", "6.1.0-9-amd64", 1},
		{"5.14.0-362.8.1.el9_3.x86_64", "5.14.0-70.13.1.el9_0.x86_64", 1},
		{"2.6.32-754.35.1.el6.x86_64", "2.6.32-754.el6.x86_64", 1},
		{"4.18.0-80.el8.x86_64", "4.18.0-80.el8.x86_64", 0},
		{"1.0", "1.0.1", -1},
		{"1.0a", "1.0", 1},
		{"1.0", "1.0a", -1},
		{"1.a", "1.1", -1},
		{"1.01", "1.1", 0},
		{"1.0~rc1", "1.0", -1},
		{"1.0~rc1", "1.0~rc2", -1},
		{"1.0^git1", "1.0", 1},
		{"1.0^git1", "1.0.1", -1},
		{"10", "9", 1},
		{"abc", "abd", -1},
		{"", "1", -1},
	} {
		if got := Compare(c.a, c.b); got != c.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Compare(c.b, c.a); got != -c.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestSortKernels(t *testing.T) {
	v := []string{"6.1.0-9-amd64", "6.1.0-18-amd64", "5.10.0-28-amd64", "6.1.0-10-amd64"}
	slices.SortFunc(v, Compare)
	want := []string{"5.10.0-28-amd64", "6.1.0-9-amd64", "6.1.0-10-amd64", "6.1.0-18-amd64"}
	if !slices.Equal(v, want) {
		t.Errorf("sorted %v, want %v", v, want)
	}
}

func FuzzCompare(f *testing.F) {
	f.Add("6.1.0-18-amd64", "6.1.0-9-amd64")
	f.Add("1.0~rc1", "1.0^git")
	f.Fuzz(func(t *testing.T, a, b string) {
		x, y := Compare(a, b), Compare(b, a)
		if x != -y {
			t.Errorf("Compare(%q,%q)=%d but Compare(%q,%q)=%d", a, b, x, b, a, y)
		}
		if Compare(a, a) != 0 {
			t.Errorf("Compare(%q,%q) != 0", a, a)
		}
	})
}
