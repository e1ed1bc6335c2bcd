package checks

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/repair"
	"rescue/sysroot"
)

func TestLinesRoundTrip(t *testing.T) {
	for _, in := range []string{"", "a", "a\n", "a\nb", "a\nb\n", "\n", "\n\n", "a\r\nb\r\n"} {
		l, nl := Lines([]byte(in))
		assert.Equal(t, in, string(JoinLines(l, nl)), "%q", in)
	}
}

func TestCommentOutAndReplace(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc"), 0o755))
	data := []byte("one\ntwo\nthree")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/x.conf"), data, 0o640))
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()

	fix, err := CommentOut(root, "/etc/x.conf", data, 2, "sources itself", "Comment it out")
	require.NoError(t, err)
	require.Len(t, fix.Ops, 1)
	assert.Equal(t, "one\n# disabled by rescue: sources itself: two\nthree", content(t, root, fix.Ops[0]))
	assert.Equal(t, "Comment it out", fix.Message)

	fix, err = ReplaceLine(root, "/etc/x.conf", data, 3, "THREE", "Replace")
	require.NoError(t, err)
	assert.Equal(t, "one\ntwo\nTHREE", content(t, root, fix.Ops[0]))

	_, err = CommentOut(root, "/etc/x.conf", data, 4, "x", "y")
	assert.Error(t, err)
	_, err = ReplaceLine(root, "/etc/x.conf", data, 0, "x", "y")
	assert.Error(t, err)
}

func content(t *testing.T, root *sysroot.Root, op repair.Op) string {
	t.Helper()
	require.Nil(t, op.Data, "an edit of a file that exists carries edits, not a copy")
	data, err := op.Content(root)
	require.NoError(t, err)
	return string(data)
}

// The numbering of lineSpan is that of Lines.
func TestLineSpan(t *testing.T) {
	for _, in := range []string{"", "a", "a\n", "a\nb", "a\nb\n", "\n", "\n\n", "a\r\nb\r\n", "x\n\ny"} {
		lines, _ := Lines([]byte(in))
		for n := 0; n <= len(lines)+1; n++ {
			s, e, ok := lineSpan([]byte(in), n)
			if n < 1 || n > len(lines) {
				assert.False(t, ok, "%q line %d", in, n)
				continue
			}
			if assert.True(t, ok, "%q line %d", in, n) {
				assert.Equal(t, lines[n-1], in[s:e], "%q line %d", in, n)
			}
		}
	}
}
