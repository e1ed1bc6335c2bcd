package checks

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	assert.Equal(t, "one\n# disabled by rescue: sources itself: two\nthree", string(fix.Ops[0].Data))
	assert.Equal(t, "Comment it out", fix.Message)

	fix, err = ReplaceLine(root, "/etc/x.conf", data, 3, "THREE", "Replace")
	require.NoError(t, err)
	assert.Equal(t, "one\ntwo\nTHREE", string(fix.Ops[0].Data))

	_, err = CommentOut(root, "/etc/x.conf", data, 4, "x", "y")
	assert.Error(t, err)
	_, err = ReplaceLine(root, "/etc/x.conf", data, 0, "x", "y")
	assert.Error(t, err)
}
