package shell

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mvdan.cc/sh/v3/syntax"
)

// Every construct that nests, a quarter of a million levels deep: none may
// crash (a stack overflow would end this test binary).
func TestDeepNestingIsRefused(t *testing.T) {
	const n = 1 << 18
	for name, s := range map[string]string{
		"subshell":      strings.Repeat("(", n),
		"arith":         "echo $((" + strings.Repeat("(", n),
		"cmdsubst":      strings.Repeat("$(", n/2),
		"grub-default":  `GRUB_CMDLINE_LINUX="` + strings.Repeat(`$(echo "`, n/8),
		"brace":         strings.Repeat("{ ", n/2),
		"if":            strings.Repeat("if a;then ", n/10),
		"while":         strings.Repeat("while a;do ", n/11),
		"case":          strings.Repeat("case a in a) ", n/13),
		"param":         strings.Repeat("${a:-", n/5),
		"procsubst":     strings.Repeat("<(", n/2),
		"test-not":      "[[ " + strings.Repeat("! ", n/2),
		"test-and":      "[[ " + strings.Repeat("a && ", n/5) + "a ]]",
		"ternary":       "(( " + strings.Repeat("a?", n/2),
		"assign":        "(( " + strings.Repeat("a=", n/2) + "1 ))",
		"power":         "(( " + strings.Repeat("1**", n/3) + "1 ))",
		"time":          strings.Repeat("time ", n/5),
		"function":      strings.Repeat("f(){ ", n/5),
		"dq-cmdsubst":   strings.Repeat(`"$(`, n/3),
		"array-subst":   "a=(" + strings.Repeat("$(", n/2),
		"heredoc-subst": "cat <<E\n" + strings.Repeat("$(", n/2) + "\nE\n",
	} {
		start := time.Now()
		_, err := Parse([]byte(s), name)
		t.Logf("%s: %v in %s", name, err, time.Since(start))
		// Some constructs cost little stack per level: those parse (or
		// fail with a syntax error) within the limits, which is as good.
		var pe syntax.ParseError
		if err != nil && !errors.Is(err, ErrLimit) && !errors.As(err, &pe) {
			t.Errorf("%s: got %v, want a limit or syntax error", name, err)
		}
		if (name == "subshell" || name == "cmdsubst" || name == "grub-default") && !errors.Is(err, ErrLimit) {
			t.Errorf("%s: got %v, want a limit error", name, err)
		}
	}
}

// A long script that nests as real scripts do is parsed, through the
// child when it has much punctuation.
func TestLongOrdinaryScriptIsParsed(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 3000; i++ {
		b.WriteString(`_comp_f() { local cur="${COMP_WORDS[COMP_CWORD]}"; if [[ $cur == -* ]]; then COMPREPLY=( $(compgen -W "--a --b" -- "$cur") ); fi; case $x in a|b) (( n++ ));; esac; }` + "\n")
	}
	data := []byte(b.String())
	if risk(data) <= inProcessRisk {
		t.Fatalf("the script's risk %d does not reach the child", risk(data))
	}
	f, err := Parse(data, "long")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Stmts) != 3000 {
		t.Errorf("%d statements", len(f.Stmts))
	}
}

func TestTooLarge(t *testing.T) {
	_, err := Parse(make([]byte, MaxSize+1), "big")
	if !errors.Is(err, ErrLimit) {
		t.Errorf("got %v", err)
	}
}

// The parser's positions lose line numbers past 262,143; Lines does not.
func TestLinesPastTheParsersLimit(t *testing.T) {
	data := []byte(strings.Repeat("\n", 300000) + ". /etc/profile\n")
	f, err := Parse(data, "p")
	if err != nil {
		t.Fatal(err)
	}
	pos := f.Stmts[0].Pos()
	if pos.Line() != 0 {
		t.Logf("the parser now keeps line %d; Lines is still right", pos.Line())
	}
	l := NewLines(data)
	if got := l.At(pos.Offset()); got != 300001 {
		t.Errorf("line %d, want 300001", got)
	}
	if got := l.Text(data, 300001); got != ". /etc/profile" {
		t.Errorf("text %q", got)
	}
	if l.Text(data, 300003) != "" || l.Text(data, 0) != "" {
		t.Error("lines out of range have no text")
	}
}

// Every shell file goes through Parse: no other package may call the
// parser itself.
func TestOnlyThisPackageParsesShell(t *testing.T) {
	top := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != top {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || filepath.Dir(p) == "." || filepath.Base(filepath.Dir(p)) == "shell" {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewParser" {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "syntax" {
					t.Errorf("%s calls syntax.NewParser: parse shell with rescue/parse/shell", fset.Position(sel.Pos()))
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("a=$(b \"${c:-d}\")\nif [[ -f x ]]; then (( y++ )); fi\n"))
	f.Add([]byte(strings.Repeat("$(", 3000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		Parse(data, "fuzz")
	})
}
