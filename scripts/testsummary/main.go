// Command testsummary reads `go test -json` on stdin and prints what `go
// test` would (each package's result line, and the whole output of every
// test that failed), then a summary that no one can miss: how many tests
// passed, failed and were skipped, and every skipped test with its reason.
// A skipped test proved nothing in this run (a missing corpus, a tool that
// is not installed, not running as root), so it must not pass unnoticed.
//
//	go test -json ./... | go run ./scripts/testsummary
//
// Its exit status is 1 when a test or a package failed (or the stream had
// none of go test's events), else 0; make test exits with go test's own
// status all the same.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

// Skip is a skipped test and why.
type Skip struct {
	Package, Test, Reason string
}

// Summary is what a run of go test did.
type Summary struct {
	Passed, Failed int
	Skipped        []Skip
	// FailedPackages failed as a whole (a build error, a panic, a test
	// binary that exited early).
	FailedPackages []string
	// Events counts the events read: none means go test did not run.
	Events int
}

type key struct{ pkg, test string }

// Summarize copies the readable output of the event stream to w as it
// arrives and returns the summary. Lines that are not JSON (go test's own
// errors before any package ran) are copied as they are.
func Summarize(r io.Reader, w io.Writer) (*Summary, error) {
	s := &Summary{}
	out := map[key][]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		s.Events++
		k := key{e.Package, e.Test}
		switch e.Action {
		case "build-output":
			// The compiler's errors for a package that did not build.
			fmt.Fprint(w, e.Output)
		case "output":
			if e.Test == "" {
				// Package-level lines: the result line, build errors,
				// and what a test binary printed outside any test.
				if keepPackageLine(e.Output) {
					fmt.Fprint(w, e.Output)
				}
				continue
			}
			out[k] = append(out[k], e.Output)
		case "pass":
			if e.Test != "" {
				s.Passed++
			}
			delete(out, k)
		case "skip":
			if e.Test != "" {
				s.Skipped = append(s.Skipped, Skip{Package: e.Package, Test: e.Test, Reason: reason(out[k])})
			}
			delete(out, k)
		case "fail":
			if e.Test != "" {
				s.Failed++
				for _, l := range out[k] {
					fmt.Fprint(w, l)
				}
			} else {
				s.FailedPackages = append(s.FailedPackages, e.Package)
			}
			delete(out, k)
		}
	}
	return s, sc.Err()
}

// keepPackageLine drops the per-test lines go test -json repeats at the
// package level and keeps everything else.
func keepPackageLine(l string) bool {
	t := strings.TrimSpace(l)
	return t != "PASS" && !strings.HasPrefix(t, "=== ") && !strings.HasPrefix(t, "--- PASS") && !strings.HasPrefix(t, "--- SKIP")
}

// reason is what a skipped test said: its log and Skip lines, without the
// "=== RUN" and "--- SKIP" framing and the file:line prefix.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		if i := strings.Index(t, ": "); i > 0 && strings.Contains(t[:i], ".go:") && !strings.Contains(t[:i], " ") {
			t = t[i+2:]
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " / ")
}

// Write prints the summary.
func (s *Summary) Write(w io.Writer) {
	bar := strings.Repeat("=", 72)
	fmt.Fprintf(w, "\n%s\n", bar)
	if len(s.Skipped) > 0 {
		fmt.Fprintf(w, "SKIPPED: %d test(s) did not run and proved nothing here:\n", len(s.Skipped))
		sort.SliceStable(s.Skipped, func(i, j int) bool {
			if s.Skipped[i].Package != s.Skipped[j].Package {
				return s.Skipped[i].Package < s.Skipped[j].Package
			}
			return s.Skipped[i].Test < s.Skipped[j].Test
		})
		for _, k := range s.Skipped {
			fmt.Fprintf(w, "  SKIP %s %s\n       %s\n", k.Package, k.Test, k.Reason)
		}
		fmt.Fprintln(w)
	}
	for _, p := range s.FailedPackages {
		fmt.Fprintf(w, "FAIL package %s\n", p)
	}
	fmt.Fprintf(w, "tests: %d passed, %d failed, %d skipped; packages failed: %d\n", s.Passed, s.Failed, len(s.Skipped), len(s.FailedPackages))
	fmt.Fprintf(w, "%s\n", bar)
}

// OK says whether the run passed.
func (s *Summary) OK() bool {
	return s.Events > 0 && s.Failed == 0 && len(s.FailedPackages) == 0
}

func main() {
	s, err := Summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testsummary: reading go test -json: %v\n", err)
	}
	s.Write(os.Stdout)
	if err != nil || !s.OK() {
		os.Exit(1)
	}
}
