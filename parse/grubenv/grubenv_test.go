package grubenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func block(body string) string {
	return Header + body + strings.Repeat("#", Size-len(Header)-len(body))
}

func TestRoundTrip(t *testing.T) {
	// The block as grub2-editenv leaves it on RHEL 8.
	in := block("saved_entry=rhel-20190313123447-4.18.0-80.el8.x86_64\nkernelopts=root=/dev/mapper/rhel-root ro crashkernel=auto resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap rhgb quiet \nboot_success=0\n")
	e, err := Parse([]byte(in))
	require.NoError(t, err)
	v, ok := e.Get("kernelopts")
	require.True(t, ok)
	assert.True(t, strings.HasPrefix(v, "root=/dev/mapper/rhel-root ro"))
	out, err := e.Encode()
	require.NoError(t, err)
	assert.Equal(t, in, string(out), "an unchanged block encodes to the same bytes")

	out, err = e.With("saved_entry", "rhel-x-4.18.0-60.el8.x86_64").Encode()
	require.NoError(t, err)
	assert.Len(t, out, Size)
	e2, err := Parse(out)
	require.NoError(t, err)
	v, _ = e2.Get("saved_entry")
	assert.Equal(t, "rhel-x-4.18.0-60.el8.x86_64", v)
	assert.Equal(t, []string{"saved_entry", "kernelopts", "boot_success"}, names(e2))
	// The original is unchanged.
	v, _ = e.Get("saved_entry")
	assert.Equal(t, "rhel-20190313123447-4.18.0-80.el8.x86_64", v)
}

func names(e *Env) []string {
	var out []string
	for _, v := range e.Vars {
		out = append(out, v.Name)
	}
	return out
}

func TestEscapes(t *testing.T) {
	e := New().With("a", "x\\y\nz")
	out, err := e.Encode()
	require.NoError(t, err)
	assert.Contains(t, string(out), "a=x\\\\y\\\nz\n")
	back, err := Parse(out)
	require.NoError(t, err)
	v, _ := back.Get("a")
	assert.Equal(t, "x\\y\nz", v)
}

func TestErrors(t *testing.T) {
	_, err := Parse([]byte("saved_entry=0\n"))
	assert.ErrorIs(t, err, ErrNoHeader)
	_, err = New().With("big", strings.Repeat("x", 2000)).Encode()
	assert.ErrorContains(t, err, "do not fit")
	// A bigger block keeps its size.
	e, err := Parse([]byte(Header + strings.Repeat("#", 2000)))
	require.NoError(t, err)
	out, err := e.With("a", "b").Encode()
	require.NoError(t, err)
	assert.Len(t, out, len(Header)+2000)
}

func TestTrailingNewline(t *testing.T) {
	in := block("saved_entry=0\n")
	in = in[:len(in)-1] + "\n"
	e, err := Parse([]byte(in))
	require.NoError(t, err)
	out, err := e.Encode()
	require.NoError(t, err)
	assert.Equal(t, in, string(out))
	out, err = e.With("saved_entry", "1").Encode()
	require.NoError(t, err)
	assert.Equal(t, strings.Replace(in, "saved_entry=0\n", "saved_entry=1\n", 1), string(out))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(block("saved_entry=0\nkernelopts=root=UUID=1 ro\n")))
	f.Add([]byte(Header + "a\\\n=b\\"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse(data)
		if err != nil {
			return
		}
		out, err := e.Encode()
		if err != nil {
			return
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parsing the encoded block: %v", err)
		}
		for _, v := range e.Vars {
			if strings.HasPrefix(v.Name, "#") || strings.Contains(v.Name, "=") {
				continue
			}
			got, ok := back.Get(v.Name)
			if !ok || got != v.Value {
				t.Fatalf("%q: got %q, want %q", v.Name, got, v.Value)
			}
		}
	})
}

// TestGrubEditenv reads blocks grub-editenv writes, and checks that
// grub-editenv reads the blocks written here.
func TestGrubEditenv(t *testing.T) {
	tool, err := exec.LookPath("grub-editenv")
	if err != nil {
		t.Skip("grub-editenv is not installed (apt-get install grub-common)")
	}
	p := filepath.Join(t.TempDir(), "grubenv")
	run := func(args ...string) string {
		out, err := exec.Command(tool, append([]string{p}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	run("create")
	run("set", "saved_entry=gnulinux-advanced-x>gnulinux-6.1.0-17-amd64-advanced-x", "kernelopts=root=UUID=1111 ro console=ttyS0,115200n8")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	e, err := Parse(data)
	require.NoError(t, err)
	v, _ := e.Get("kernelopts")
	assert.Equal(t, "root=UUID=1111 ro console=ttyS0,115200n8", v)
	out, err := e.With("kernelopts", "root=UUID=2222 ro").With("boot_success", "1").Encode()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, out, 0o644))
	list := run("list")
	assert.Equal(t, "saved_entry=gnulinux-advanced-x>gnulinux-6.1.0-17-amd64-advanced-x\nkernelopts=root=UUID=2222 ro\nboot_success=1\n", list)
}
