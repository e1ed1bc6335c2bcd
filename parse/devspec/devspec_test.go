package devspec

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Spec{
		"UUID=12ab-34cd":                     {Kind: UUID, Value: "12ab-34cd"},
		`UUID="2222"`:                        {Kind: UUID, Value: "2222"},
		`LABEL='my root'`:                    {Kind: Label, Value: "my root"},
		"LABEL=my root":                      {Kind: Label, Value: "my root"},
		"PARTUUID=aaaa-02":                   {Kind: PartUUID, Value: "aaaa-02"},
		"PARTLABEL=EFI System":               {Kind: PartLabel, Value: "EFI System"},
		`UUID=""`:                            {Kind: UUID, Value: ""},
		"/dev/disk/by-uuid/2222":             {Kind: UUID, Value: "2222", Link: true},
		`/dev/disk/by-label/my\x20root\x2fa`: {Kind: Label, Value: "my root/a", Link: true},
		`/dev/disk/by-label/a\x2`:            {Kind: Label, Value: `a\x2`, Link: true},
		`/dev/disk/by-label/a\xzz\x4A`:       {Kind: Label, Value: `a\xzzJ`, Link: true},
		"/dev/disk/by-partuuid/aaaa-02":      {Kind: PartUUID, Value: "aaaa-02", Link: true},
		"/dev/disk/by-partlabel/EFI":         {Kind: PartLabel, Value: "EFI", Link: true},
		"UUID=":                              {Kind: Path, Value: "UUID="},
		"/dev/disk/by-uuid/":                 {Kind: Path, Value: "/dev/disk/by-uuid/"},
		"/dev/disk/by-id/virtio-d-bp1":       {Kind: Path, Value: "/dev/disk/by-id/virtio-d-bp1"},
		"/dev/sda1":                          {Kind: Path, Value: "/dev/sda1"},
		"/dev/mapper/vg--root-lv_root":       {Kind: Path, Value: "/dev/mapper/vg--root-lv_root"},
		"uuid=1111":                          {Kind: Path, Value: "uuid=1111"},
		" UUID=1111":                         {Kind: Path, Value: " UUID=1111"},
		"tmpfs":                              {Kind: Path, Value: "tmpfs"},
		"server:/export":                     {Kind: Path, Value: "server:/export"},
		"":                                   {Kind: Path, Value: ""},
	} {
		got := Parse(in)
		assert.Equal(t, want, got, in)
		assert.Equal(t, want.Kind != Path, got.IsTag(), in)
	}
}

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		`UUID="2222"`:                   "UUID=2222",
		`UUID=""`:                       `UUID=""`,
		"PARTLABEL=EFI System":          "PARTLABEL=EFI System",
		`/dev/disk/by-label/my\x20root`: `/dev/disk/by-label/my\x20root`,
		`/dev/disk/by-label/a\x2Fb`:     `/dev/disk/by-label/a\x2fb`,
		`/dev/disk/by-label/a\b`:        `/dev/disk/by-label/a\x5cb`,
		"/dev/disk/by-label/données#1":  "/dev/disk/by-label/données#1",
		"/dev/disk/by-partuuid/AAAA-02": "/dev/disk/by-partuuid/AAAA-02",
		"/dev/sda1":                     "/dev/sda1",
	} {
		assert.Equal(t, want, Parse(in).String(), in)
	}
	assert.Equal(t, "LABEL", Label.String())
	assert.Equal(t, "PARTUUID", PartUUID.String())
	assert.Equal(t, "path", Path.String())
}

func TestMatches(t *testing.T) {
	id := IDs{UUID: "12ab-34cd", Label: "ESP", PartUUID: "aaaa-01", PartLabel: "EFI"}
	for spec, want := range map[string]bool{
		"UUID=12AB-34CD":              true,
		"/dev/disk/by-uuid/12ab-34cd": true,
		"LABEL=ESP":                   true,
		"LABEL=esp":                   false,
		"PARTUUID=AAAA-01":            true,
		"PARTLABEL=EFI":               true,
		"PARTLABEL=efi":               false,
		"UUID=9999":                   false,
		`UUID=""`:                     false,
		"/dev/vdb1":                   false,
		"/dev/disk/by-partlabel/EFI":  true,
		`/dev/disk/by-label/E\x53P`:   true,
	} {
		assert.Equal(t, want, Parse(spec).Matches(id), spec)
	}
	// A device without a label is not named by an empty one.
	assert.False(t, Spec{Kind: Label}.Matches(IDs{}))
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"UUID=12ab", `LABEL="my root"`, `PARTLABEL='x'`, "PARTUUID=", `UUID=""`,
		`/dev/disk/by-label/a\x20b\x2f`, `/dev/disk/by-partuuid/\xzz`, "/dev/sda1", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := Parse(s)
		if p.Kind == Path && p.Value != s {
			t.Fatalf("Parse(%q) = %+v: a path is kept as written", s, p)
		}
		if p.Link && p.Value == "" {
			t.Fatalf("Parse(%q) = %+v: a link with no name", s, p)
		}
		out := p.String()
		if again := Parse(out); again != p {
			t.Fatalf("Parse(%q) = %+v, written %q, read back as %+v", s, p, out, again)
		}
		if p.IsTag() && !p.Link && p.Value != "" && out != p.Kind.String()+"="+p.Value {
			t.Fatalf("Parse(%q).String() = %q: a tag is written back as read, less its quotes", s, out)
		}
		named := IDs{UUID: p.Value, Label: p.Value, PartUUID: p.Value, PartLabel: p.Value}
		if want := p.IsTag() && p.Value != ""; p.Matches(named) != want {
			t.Fatalf("Parse(%q) = %+v: Matches(its own value) = %v", s, p, !want)
		}
	})
}
