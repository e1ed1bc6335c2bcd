package evidence

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestTextLogsOfRealBoots writes the real journals out as the text logs
// rsyslog keeps (journalctl -o short is the traditional syslog format,
// -o short-iso the RFC 3339 one) and reads them back as /var/log/syslog:
// the same boot, the same class.
func TestTextLogsOfRealBoots(t *testing.T) {
	if _, err := exec.LookPath("journalctl"); err != nil {
		t.Skip("journalctl not found (Debian package systemd): the real boots were not written as text logs")
	}
	for name, w := range journalScenarios {
		for _, format := range []string{"short", "short-iso"} {
			t.Run(name+"/"+format, func(t *testing.T) {
				src := filepath.Join(t.TempDir(), "system.journal")
				require.NoError(t, os.WriteFile(src, unxz(t, "../parse/journal/testdata/real/"+name+".journal.xz"), 0o644))
				out, err := exec.Command("journalctl", "--file", src, "-o", format, "--utc", "--no-pager").Output()
				require.NoError(t, err)
				root := t.TempDir()
				writeFile(t, root, "/var/log/syslog", string(out), time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
				got, _ := readTextLogs(openRoot(t, root), nil)
				require.NotEmpty(t, got)
				assert.Equal(t, w.class, got[0].Class)
				assert.Equal(t, int64(1073197056), got[0].Machine.MemoryBytes)
			})
		}
	}
}
