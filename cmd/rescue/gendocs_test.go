package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"rescue/checks/all"
)

// TestDocsAreCurrent regenerates the man pages and check pages and
// compares them with docs/ in the repository: `make docs` after changing a
// command or a check's doc.
func TestDocsAreCurrent(t *testing.T) {
	dir := t.TempDir()
	a := newApp(nil, &bytes.Buffer{}, &bytes.Buffer{})
	if err := genDocs(a.rootCommand(), dir); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join("..", "..", "docs")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Join(repo, rel))
		if err != nil || !bytes.Equal(manDateless(got), manDateless(want)) {
			t.Errorf("docs/%s is out of date: run make docs", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Pages of checks or commands that no longer exist.
	for _, sub := range []string{"man", "checks"} {
		entries, _ := os.ReadDir(filepath.Join(repo, sub))
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(dir, sub, e.Name())); err != nil {
				t.Errorf("docs/%s/%s has no source any more: remove it", sub, e.Name())
			}
		}
	}
}

// manHeader matches the date field of a man page's .TH line.
var manHeader = regexp.MustCompile(`(?m)^(\.TH "[^"]*" "[^"]*") "[^"]*"`)

// manDateless blanks the date in a man page's header: it says when the
// page was generated, not what it says.
func manDateless(b []byte) []byte { return manHeader.ReplaceAll(b, []byte(`$1 ""`)) }

// TestDocsListEveryKind holds the check pages to the finding-kind
// contract: every kind a check declares appears on its page in docs/
// as the id prefix a finding carries, so a runbook author reading the
// page sees every id the check can report.
func TestDocsListEveryKind(t *testing.T) {
	for _, c := range all.Checks() {
		page, err := os.ReadFile(filepath.Join("..", "..", "docs", "checks", c.Name+".md"))
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		for _, k := range c.Kinds {
			if !bytes.Contains(page, []byte("`"+c.Name+"/"+k+"`")) {
				t.Errorf("docs/checks/%s.md does not list the finding kind %s/%s: run make docs", c.Name, c.Name, k)
			}
		}
	}
}
