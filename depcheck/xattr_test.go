package depcheck

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pkg/xattr"
	"golang.org/x/sys/unix"
)

// BenchmarkXattrs reads every extended attribute of one file (three user
// attributes, as a labelled file with an ACL carries) the way
// pkgdb/verify.go does, into buffers reused across files, and with
// pkg/xattr, which allocates a list and a value buffer per call.
func BenchmarkXattrs(b *testing.B) {
	p := filepath.Join(b.TempDir(), "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, k := range []string{"user.a", "user.selinux-like", "user.acl-like"} {
		if err := unix.Setxattr(p, k, []byte("system_u:object_r:bin_t:s0"), 0); err != nil {
			b.Skipf("the temp dir's filesystem has no user xattrs: %v", err)
		}
	}
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	b.Run("x-sys-unix", func(b *testing.B) {
		list, val := make([]byte, 1024), make([]byte, 1024)
		for b.Loop() {
			n, err := unix.Flistxattr(fd, list)
			if err != nil {
				b.Fatal(err)
			}
			for _, k := range splitNul(list[:n]) {
				if _, err := unix.Fgetxattr(fd, k, val); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("pkg-xattr", func(b *testing.B) {
		for b.Loop() {
			names, err := xattr.FList(f)
			if err != nil {
				b.Fatal(err)
			}
			for _, k := range names {
				if _, err := xattr.FGet(f, k); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

func splitNul(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}
