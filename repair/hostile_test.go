package repair

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A file name and a file's lines come from the disk: in the diff neither
// may reach the terminal raw or break the diff's lines.
func TestDiffEscapesNamesAndContent(t *testing.T) {
	name := "etc/evil\n+++ b/etc/passwd\x1b[2J"
	dir := build(t, tree{name: "line one\nsecret\x1b]0;title\x07\r\n"})
	r := open(t, dir)
	m := must(t)
	p := planOf(Fix{Message: "edit\x1b[31m", Ops: []Op{m(WriteFile(r, "/"+name, []byte("line one\nfixed\n")))}})
	var b bytes.Buffer
	require.NoError(t, WriteDiff(&b, r, p))
	d := b.String()
	for _, c := range []string{"\x1b", "\x07", "\r"} {
		require.NotContains(t, d, c, d)
	}
	require.NotContains(t, d, "\n+++ b/etc/passwd", d)
	require.Contains(t, d, `diff --git a/etc/evil\n+++ b/etc/passwd\x1b[2J b/etc/evil\n+++ b/etc/passwd\x1b[2J`+"\n", d)
	require.Contains(t, d, `-secret\x1b]0;title\x07\r`+"\n", d)
	require.Equal(t, 8, strings.Count(d, "\n"), d)
}
