package pamstack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rescue/sysroot"
)

// "auth include login" three times grew as 3^16 (97 s and climbing
// memory seen). A loop is cut where it closes; a diamond without a loop
// is cut at MaxWork lines.
func TestIncludeExplosionsAreBounded(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, "etc/pam.d", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("login", strings.Repeat("auth include login\n", 3)+"auth required pam_unix.so\n@include d0\n")
	for i := 0; i < 16; i++ {
		write(fmt.Sprintf("d%d", i), strings.Repeat(fmt.Sprintf("auth substack d%d\n", i+1), 3)+"auth required pam_unix.so\n")
	}
	write("d16", "auth required pam_permit.so\n")
	r, err := sysroot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	start := time.Now()
	st := New(r).Stack("login", "auth")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("building the stack took %s", d)
	}
	if len(st.Entries) > MaxWork || !st.TooLarge {
		t.Errorf("%d entries, TooLarge %v", len(st.Entries), st.TooLarge)
	}
	if len(st.Cycles) != 3 {
		t.Errorf("%d loops recorded, want the 3 lines of login", len(st.Cycles))
	}
}
