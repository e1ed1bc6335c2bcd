package all

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"rescue/facts"
)

var kindRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// TestRegistry holds every check to the conventions the rest of rescue
// relies on: a unique name equal to its package directory, a summary line,
// documentation with a Before/After example, a golden test directory, and
// known facts.
func TestRegistry(t *testing.T) {
	known := map[facts.Fact]bool{facts.OSRelease: true, facts.Fstab: true, facts.BlockDevices: true, facts.Packages: true, facts.Memory: true, facts.Filesystems: true, facts.BootDisk: true, facts.BootLoader: true, facts.Accounts: true, facts.DynamicLoader: true,
		facts.MachineInfo: true, facts.SELinuxConfig: true, facts.FileContexts: true, facts.EnabledUnits: true, facts.PAMStacks: true}
	seen := map[string]bool{}
	name := regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	for _, c := range Checks() {
		if seen[c.Name] {
			t.Errorf("check %s is listed twice", c.Name)
		}
		seen[c.Name] = true
		if !name.MatchString(c.Name) {
			t.Errorf("check name %q: want lowercase letters and digits (it is a package name)", c.Name)
		}
		if c.Run == nil {
			t.Errorf("%s: no Run", c.Name)
		}
		if s := c.Summary(); s == "" || strings.HasSuffix(s, ".") {
			t.Errorf("%s: summary %q: want one line without a final period", c.Name, s)
		}
		if !strings.Contains(c.Doc, "Before") || !strings.Contains(c.Doc, "After") {
			t.Errorf("%s: doc has no Before/After example", c.Name)
		}
		dir := filepath.Join("..", c.Name)
		if _, err := os.Stat(filepath.Join(dir, "doc.go")); err != nil {
			t.Errorf("%s: no package directory checks/%s with doc.go", c.Name, c.Name)
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "testdata", "*.txtar")); len(m) < 2 {
			t.Errorf("%s: want golden archives for a broken and a healthy root in checks/%s/testdata", c.Name, c.Name)
		}
		// The finding kinds are ids runbooks and --choose name: each
		// check declares at least one, each once, as a slug (an id is
		// check/kind:path#subject, so a kind holds no ':', '#' or '/').
		if len(c.Kinds) == 0 {
			t.Errorf("%s declares no finding kinds", c.Name)
		}
		kinds := map[string]bool{}
		for _, k := range c.Kinds {
			if kinds[k] {
				t.Errorf("%s declares kind %q twice", c.Name, k)
			}
			kinds[k] = true
			if !kindRE.MatchString(k) {
				t.Errorf("%s: kind %q: want lowercase letters, digits and dashes", c.Name, k)
			}
		}
		for _, f := range c.Requires {
			if !known[f] {
				t.Errorf("%s requires unknown fact %q", c.Name, f)
			}
		}
		if Lookup(c.Name) != c {
			t.Errorf("Lookup(%q) does not find it", c.Name)
		}
	}
	if Lookup("no-such-check") != nil {
		t.Error("Lookup of an unknown name returned a check")
	}
}
