package evidence

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ulikunitz/xz"

	"rescue/checks"
)

// TestRealJournals reads journal files that e2e images wrote while they
// failed to boot (`make e2e-lastboot` keeps them; parse/journal's
// testdata/real holds a few, xz-compressed), each as the only file of a
// target's journal, and compares the analysis with testdata/journal/NAME.want. The journal was written by the
// failing boot itself and left as the machine was stopped: online, its
// last pages maybe never written.
func TestRealJournals(t *testing.T) {
	files, err := filepath.Glob("../parse/journal/testdata/real/*.journal.xz")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no journal files in parse/journal/testdata/real")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".journal.xz")
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			writeJournalFile(t, root, unxz(t, f))
			got, notes := readJournal(openRoot(t, root))
			assert.Empty(t, notes)
			require.NotEmpty(t, got)
			ids, err := os.ReadFile(filepath.Join("testdata", "journal", name+".findings"))
			require.NoError(t, err)
			var fs []checks.Finding
			for _, id := range strings.Fields(string(ids)) {
				fs = append(fs, finding(id))
			}
			Link(got, fs)
			if w, ok := journalScenarios[name]; ok {
				assert.Equal(t, w.class, got[0].Class)
				var linked []string
				for _, e := range got[0].Events {
					if e.Decisive {
						linked = append(linked, e.Findings...)
					}
				}
				assert.Contains(t, linked, w.finding)
			}
			var b strings.Builder
			for _, a := range got {
				b.WriteString(a.Boot + " boot:\n" + render(a, false))
			}
			wantFile := filepath.Join("testdata", "journal", name+".want")
			if *update {
				require.NoError(t, os.WriteFile(wantFile, []byte(b.String()), 0o644))
			}
			want, err := os.ReadFile(wantFile)
			require.NoError(t, err)
			assert.Equal(t, string(want), b.String())
		})
	}
}

// journalScenarios is what each real journal's last boot must show: the
// class, and a finding a decisive event is linked to.
var journalScenarios = map[string]struct {
	class   Class
	finding string
}{
	"fstab-missing-disk": {Emergency, "fstab/source-unknown:/etc/fstab#/data"},
	"chmod-777-etc-ssh":  {LoggedIn, "perms/host-key:/etc/ssh/ssh_host_rsa_key"},
}

func unxz(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	r, err := xz.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	var out bytes.Buffer
	_, err = out.ReadFrom(r)
	require.NoError(t, err)
	return out.Bytes()
}

func writeJournalFile(t *testing.T, root string, data []byte) {
	t.Helper()
	dir := filepath.Join(root, "var/log/journal/0123456789abcdef0123456789abcdef")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "system.journal"), data, 0o640))
}
