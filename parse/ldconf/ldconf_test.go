package ldconf

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	in := "# comment\ninclude /etc/ld.so.conf.d/*.conf\n/usr/local/lib/ # trailing\n\n  /usr/lib=libc5\nhwcap 0 nosegneg\nincluded\n"
	got := Parse([]byte(in))
	assert.Equal(t, []Directive{
		{N: 2, Kind: Include, Value: "/etc/ld.so.conf.d/*.conf"},
		{N: 3, Kind: Dir, Value: "/usr/local/lib"},
		{N: 5, Kind: Dir, Value: "/usr/lib"},
		{N: 6, Kind: Hwcap, Value: "0 nosegneg"},
		{N: 7, Kind: Dir, Value: "included"},
	}, got)
}

func TestDirsDebian(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/ld.so.conf":                                  {Data: []byte("include /etc/ld.so.conf.d/*.conf\n\n")},
		"etc/ld.so.conf.d/libc.conf":                      {Data: []byte("# libc default configuration\n/usr/local/lib\n")},
		"etc/ld.so.conf.d/x86_64-linux-gnu.conf":          {Data: []byte("# Multiarch support\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n")},
		"etc/ld.so.conf.d/fakeroot-x86_64-linux-gnu.conf": {Data: []byte("/usr/lib/x86_64-linux-gnu/libfakeroot\n")},
		"etc/ld.so.conf.d/README":                         {Data: []byte("/not/included\n")},
	}
	dirs, errs := Dirs(fsys, "/etc/ld.so.conf")
	assert.Empty(t, errs)
	assert.Equal(t, []string{
		"/usr/lib/x86_64-linux-gnu/libfakeroot",
		"/usr/local/lib",
		"/usr/local/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	}, dirs)
}

func TestDirsRelativeAndLoops(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/ld.so.conf":          {Data: []byte("include ld.so.conf.d/*.conf\ninclude /etc/ld.so.conf\n/usr/lib64\nrelative/dir\n")},
		"etc/ld.so.conf.d/a.conf": {Data: []byte("/opt/a/lib\ninclude a.conf\n")},
		"etc/ld.so.conf.d/b.conf": {Data: []byte("/opt/b/lib /opt/c/lib\n")},
	}
	dirs, errs := Dirs(fsys, "/etc/ld.so.conf")
	assert.Empty(t, errs)
	assert.Equal(t, []string{"/opt/a/lib", "/opt/b/lib /opt/c/lib", "/usr/lib64"}, dirs)
}

func TestDirsMissing(t *testing.T) {
	dirs, errs := Dirs(fstest.MapFS{}, "/etc/ld.so.conf")
	assert.Empty(t, dirs)
	assert.Empty(t, errs)

	fsys := fstest.MapFS{"etc/ld.so.conf": {Data: []byte("include [bad\n")}}
	_, errs = Dirs(fsys, "/etc/ld.so.conf")
	assert.Len(t, errs, 1)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("include /etc/ld.so.conf.d/*.conf\n/usr/lib=x\nhwcap 1 x\n"))
	f.Add([]byte("include\tinclude\n=\n/\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range Parse(data) {
			if d.Kind == Dir && d.Value == "" {
				t.Fatalf("empty directory from %q", data)
			}
		}
		fsys := fstest.MapFS{"etc/ld.so.conf": {Data: data}, "etc/x.conf": {Data: data}}
		_, _ = Dirs(fsys, "/etc/ld.so.conf")
	})
}
