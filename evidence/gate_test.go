package evidence

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/parse/console"
)

func TestLiterals(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`Kernel panic - not syncing:? ?(.*?)$`, []string{"Kernel panic - not syncing"}},
		{`Login incorrect|FAILED LOGIN \(\d+\) on`, []string{"Login incorrect", "FAILED LOGIN ("}},
		{`(?i)panic`, nil},
		{`a*b?`, nil},
		{`^\[(?:  OK  |FAILED)\] `, []string{"  OK  ", "FAILED"}},
	} {
		assert.Equal(t, c.want, literals(c.expr), c.expr)
	}
}

// corpusLines are the console lines of the recorded transcripts.
func corpusLines(t testing.TB) []string {
	var out []string
	files, _ := filepath.Glob("testdata/console/*.log.gz")
	more, _ := filepath.Glob("../images/boot/testdata/*.log.gz")
	for _, f := range append(files, more...) {
		fh, err := os.Open(f)
		require.NoError(t, err)
		z, err := gzip.NewReader(fh)
		require.NoError(t, err)
		data, err := io.ReadAll(z)
		fh.Close()
		require.NoError(t, err)
		for _, l := range console.Decode(data).Lines {
			out = append(out, consoleLine(l).Text)
		}
	}
	return out
}

// TestNeedlesHideNoMatch: on every line of the recorded transcripts, an
// expression that matches is one whose needles let the line through.
func TestNeedlesHideNoMatch(t *testing.T) {
	lines := append(corpusLines(t), extraLines...)
	require.NotEmpty(t, lines)
	matched := 0
	for re := range needles {
		for _, l := range lines {
			if re.MatchString(l) {
				matched++
				require.True(t, mayMatch(re, l), "%s matches %q, but its needles %q hide it", re, l, needles[re])
			}
		}
	}
	assert.Greater(t, matched, 100)
}

var extraLines = []string{
	"Memory: 985432K/1048040K available (14336K kernel code)",
	"virtio_net virtio0 ens3: renamed from eth0",
	"FAILED LOGIN 1 FROM ttyS0 FOR root, Authentication failure",
	"pam_succeed_if(login:auth): requirement \"uid >= 1000\" not met by user \"root\"",
	"User root from 203.0.113.9 not allowed because not listed in AllowUsers",
}

func FuzzNeedles(f *testing.F) {
	for _, l := range extraLines {
		f.Add(l)
	}
	var all []*regexp.Regexp
	for re := range needles {
		all = append(all, re)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, re := range all {
			if re.MatchString(s) && !mayMatch(re, s) {
				t.Fatalf("%s matches %q, but its needles %q hide it", re, s, needles[re])
			}
		}
	})
}
