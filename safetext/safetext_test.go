package safetext

import (
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain /etc/fstab line\twith tab", "plain /etc/fstab line\twith tab"},
		{"évidence ünïcode ✓", "évidence ünïcode ✓"},
		{"name\nCRITICAL: forged", `name\nCRITICAL: forged`},
		{"a\rb", `a\rb`},
		{"\x1b[2J\x1b]0;title\x07", `\x1b[2J\x1b]0;title\x07`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"bad utf8 \xff\xfe", `bad utf8 \xff\xfe`},
		{"c1 \u009b2J", `c1 \u009b2J`},
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`},
		{"sep\u2028x", `sep\u2028x`},
		{`back\slash`, `back\slash`},
	} {
		if got := Line(c.in); got != c.want {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := Line(c.in); strings.ContainsAny(got, "\n\r\x1b\x07\x00\x7f") {
			t.Errorf("Line(%q) = %q still holds a control character", c.in, got)
		}
	}
}

func TestCut(t *testing.T) {
	if got := Cut("short", 10); got != "short" {
		t.Errorf("Cut kept %q", got)
	}
	long := strings.Repeat("é", 1000) // 2000 bytes
	got := Cut(long, 101)
	if !strings.HasPrefix(got, strings.Repeat("é", 50)+" …[") || !strings.HasSuffix(got, "1900 more bytes]") {
		t.Errorf("Cut(2000 bytes, 101) = %q", got)
	}
}

func FuzzLine(f *testing.F) {
	f.Add("a\nb\x1b[2J\xff\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		got := Line(s)
		for _, r := range got {
			if r < 0x20 && r != '\t' || r == 0x7f || unsafeRune(r) || r == 0xfffd && !strings.ContainsRune(s, 0xfffd) {
				t.Fatalf("Line(%q) = %q holds %U", s, got, r)
			}
		}
	})
}
