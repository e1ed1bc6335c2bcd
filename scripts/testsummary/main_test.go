package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSummarize runs go test -json on a small module whose tests pass,
// fail and skip, and reads its real event stream.
func TestSummarize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a test binary")
	}
	dir := t.TempDir()
	write := func(name, text string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	write("go.mod", "module sample\n\ngo 1.22\n")
	write("a/a_test.go", `package a

import "testing"

func TestPasses(t *testing.T) {}

func TestSkipsCorpus(t *testing.T) {
	t.Log("looking for the corpus")
	t.Skip("the shared corpus of RPM roots (shared/corpus/rpm) is absent")
}

func TestFails(t *testing.T) { t.Error("wrong answer") }

func TestSub(t *testing.T) {
	t.Run("one", func(t *testing.T) {})
	t.Run("two", func(t *testing.T) { t.Skipf("not root") })
}
`)
	write("b/b_test.go", "package b\n\nimport \"testing\"\n\nfunc TestB(t *testing.T) {}\n")
	write("c/c_test.go", "package c\n\nfunc broken( {\n")
	cmd := exec.Command("go", "test", "-json", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	stream, err := cmd.Output()
	require.Error(t, err, "a test fails, so go test exits non-zero")

	var out bytes.Buffer
	s, err := Summarize(bytes.NewReader(stream), &out)
	require.NoError(t, err)
	assert.False(t, s.OK())
	// TestPasses, TestSub, TestSub/one, TestB.
	assert.Equal(t, 4, s.Passed)
	assert.Equal(t, 1, s.Failed)
	require.Len(t, s.Skipped, 2)
	assert.Equal(t, Skip{Package: "sample/a", Test: "TestSkipsCorpus",
		Reason: "looking for the corpus / the shared corpus of RPM roots (shared/corpus/rpm) is absent"}, s.Skipped[0])
	assert.Equal(t, Skip{Package: "sample/a", Test: "TestSub/two", Reason: "not root"}, s.Skipped[1])
	assert.Contains(t, s.FailedPackages, "sample/a")
	assert.Contains(t, s.FailedPackages, "sample/c", "a build failure fails its package")

	text := out.String()
	assert.Contains(t, text, "wrong answer", "a failed test's output is shown")
	assert.Contains(t, text, "--- FAIL: TestFails")
	assert.Regexp(t, `(?m)^ok  \tsample/b\t`, text, "package result lines are shown")
	assert.NotContains(t, text, "=== RUN   TestPasses", "passing tests stay quiet")
	assert.Contains(t, text, "c_test.go:3", "the compiler's error is shown")
	assert.NotContains(t, text, "looking for the corpus", "skips are in the summary, not the stream")

	out.Reset()
	s.Write(&out)
	sum := out.String()
	assert.Contains(t, sum, "SKIPPED: 2 test(s) did not run and proved nothing here:\n")
	assert.Contains(t, sum, "  SKIP sample/a TestSkipsCorpus\n       looking for the corpus / the shared corpus of RPM roots (shared/corpus/rpm) is absent\n")
	assert.Contains(t, sum, "tests: 4 passed, 1 failed, 2 skipped; packages failed: 2\n")
	assert.True(t, strings.Index(sum, "TestSkipsCorpus") < strings.Index(sum, "TestSub/two"))
}

func TestSummarizeNothing(t *testing.T) {
	var out bytes.Buffer
	s, err := Summarize(strings.NewReader("go: cannot find main module\n"), &out)
	require.NoError(t, err)
	assert.False(t, s.OK(), "no events: go test did not run")
	assert.Equal(t, "go: cannot find main module\n", out.String(), "what is not JSON is passed on")

	s, err = Summarize(strings.NewReader(`{"Action":"pass","Package":"p","Test":"T"}`+"\n"+`{"Action":"pass","Package":"p"}`+"\n"), &out)
	require.NoError(t, err)
	assert.True(t, s.OK())
	out.Reset()
	s.Write(&out)
	assert.NotContains(t, out.String(), "SKIPPED")
	assert.Contains(t, out.String(), "tests: 1 passed, 0 failed, 0 skipped")
}
