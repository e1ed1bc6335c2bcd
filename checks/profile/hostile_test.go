package profile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rescue/checks/checkstest"
	"rescue/facts"
)

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The parser numbers lines only up to 262,143: a cycle past that line is
// reported at its real line, and its fix comments out that very line.
func TestSourceCyclePastTheParsersLineLimit(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "etc/profile", strings.Repeat("# padding\n", 300000)+". /etc/profile\nexport A=1\n")
	fs := checkstest.RunRoot(t, Check, dir, facts.Options{}, func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dir, "etc/profile"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		if got := lines[300000]; got != "# disabled by rescue: sources itself: . /etc/profile" {
			t.Errorf("line 300001 after the fix: %q", got)
		}
	})
	if len(fs) != 1 || fs[0].Kind != "source-cycle" || fs[0].Line != 300001 {
		t.Fatalf("findings: %s", checkstest.FormatFindings(fs))
	}
}

// A profile.d file a megabyte deep cannot be parsed, and must not crash
// the scan: it is a finding.
func TestDeeplyNestedFileIsAFinding(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "etc/profile", "for i in /etc/profile.d/*.sh; do . $i; done\n")
	write(t, dir, "etc/profile.d/deep.sh", strings.Repeat("(", 1<<20))
	fs := checkstest.RunRoot(t, Check, dir, facts.Options{}, nil)
	if len(fs) != 1 || fs[0].Kind != "unparsable" || fs[0].Path != "/etc/profile.d/deep.sh" {
		t.Fatalf("findings: %s", checkstest.FormatFindings(fs))
	}
}

// A source statement over two lines is commented out whole: commenting out
// its first line only would leave a broken line behind.
func TestMultiLineSourceIsCommentedOutWhole(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "etc/profile", "export A=1\n. \\\n  /etc/profile\nexport B=2\n")
	fs := checkstest.RunRoot(t, Check, dir, facts.Options{}, func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dir, "etc/profile"))
		if err != nil {
			t.Fatal(err)
		}
		want := "export A=1\n# disabled by rescue: sources itself: . \\\n# disabled by rescue: sources itself:   /etc/profile\nexport B=2\n"
		if string(data) != want {
			t.Errorf("after the fix:\n%s", data)
		}
	})
	if len(fs) != 1 || fs[0].Line != 2 {
		t.Fatalf("findings: %s", checkstest.FormatFindings(fs))
	}
}
