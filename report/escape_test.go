package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"rescue/checks"
	"rescue/repair"
)

// A finding quotes the disk everywhere: its path, subject, message and
// evidence. None of it may reach the terminal raw, or add a line.
func TestTextEscapesDiskStrings(t *testing.T) {
	hostile := "x\n  CRITICAL: forged line\x1b[2J\x1b]0;owned\x07\r\u202e"
	f := checks.Finding{
		ID: "c/k:/etc/" + hostile, Check: "c", Kind: "k", Severity: checks.Error,
		Path: "/etc/" + hostile, Line: 3, Location: hostile,
		Message: "m " + hostile, Impact: "i " + hostile, Evidence: []string{hostile, hostile},
		Fixes: []repair.Fix{{Message: "fix " + hostile}, {Message: "other " + hostile}},
	}
	var b bytes.Buffer
	r := &Report{Target: Target{Path: "/mnt/" + hostile}, Findings: []checks.Finding{f},
		Checks: []checks.Status{{Name: "c", Error: "e " + hostile}}, Notes: []string{"n " + hostile}}
	r.WriteText(&b, Style{})
	out := b.String()
	for _, c := range []string{"\x1b", "\x07", "\r", "\u202e"} {
		if strings.Contains(out, c) {
			t.Errorf("text output holds %q:\n%s", c, out)
		}
	}
	if strings.Contains(out, "\n  CRITICAL: forged") {
		t.Errorf("a newline from the disk started a line of its own:\n%s", out)
	}
	// One line each: target, heading, where, location, message, impact,
	// two evidence lines, two fixes, check error, note, summary, and the
	// blank separators.
	if n := strings.Count(out, "\n"); n != 17 {
		t.Errorf("text output has %d lines, want 17:\n%s", n, out)
	}
}

// Thousands of findings of one kind (a binary file where a configuration
// file belongs, one per line) are shown as the first few and a count.
func TestTextGroupsFindingStorms(t *testing.T) {
	var fs []checks.Finding
	for i := 0; i < 5000; i++ {
		fs = append(fs, checks.Finding{ID: fmt.Sprint("pam/malformed:/etc/pam.d/login#", i), Check: "pam", Kind: "malformed", Severity: checks.Error, Path: "/etc/pam.d/login", Message: "m"})
	}
	for i := 0; i < 5000; i++ {
		fs = append(fs, checks.Finding{ID: fmt.Sprint("pkgfiles/damaged:/p", i), Check: "pkgfiles", Kind: "damaged", Severity: checks.Warning, Path: fmt.Sprint("/p", i), Message: "m"})
	}
	var b bytes.Buffer
	WriteFindings(&b, fs, Style{})
	out := b.String()
	if !strings.Contains(out, "… and 4980 more pam/malformed findings in /etc/pam.d/login") || !strings.Contains(out, "… and more pkgfiles/damaged findings") {
		t.Errorf("no summary lines:\n%.2000s", out)
	}
	if n := strings.Count(out, "\n"); n > 1000 {
		t.Errorf("%d lines for two kinds of finding", n)
	}
}
