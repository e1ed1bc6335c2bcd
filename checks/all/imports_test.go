package all

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestChecksDoNotImportChecks: a check is one package the registry lists;
// what two checks share lives in a package that is not a check (the
// intrusion engine, bootargs, internal/initrd), so that a check can be
// changed, disabled or removed without reaching into another.
func TestChecksDoNotImportChecks(t *testing.T) {
	names := map[string]bool{}
	for _, c := range Checks() {
		names[c.Name] = true
	}
	for _, c := range Checks() {
		dir := filepath.Join("..", c.Name)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, e.Name()), nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				// A package inside another check's directory (the loader
				// model once lived in checks/libs/ldso) is that check's too.
				other, ok := strings.CutPrefix(p, "rescue/checks/")
				owner, _, _ := strings.Cut(other, "/")
				if ok && names[owner] && owner != c.Name {
					t.Errorf("check %s imports check %s (%s, in %s): move what they share to a package that is not a check", c.Name, owner, p, e.Name())
				}
			}
		}
	}
}
