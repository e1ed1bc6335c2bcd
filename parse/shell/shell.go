// Package shell is the one way rescue parses shell files (profile and
// profile.d scripts, rc.local, /etc/default/grub): mvdan.cc/sh's parser,
// behind a guard that a hostile file cannot get past.
//
// The parser is recursive descent with no depth limit: a megabyte of "(",
// or of "$(", nests a megabyte deep and overflows the goroutine's stack,
// and in Go a stack overflow ends the process; it cannot be recovered. So
// a file is parsed in this process only when it cannot nest deeply enough
// to hurt: every level of nesting needs at least one punctuation character
// or keyword, and a cheap count of those bounds the depth. A file with more
// of them (a long script, or an attack) is first parsed by a child process
// whose stack is capped; only when the child finishes is it parsed here.
// Parsing is deterministic, so the same bytes need the same stack again.
package shell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"sort"
	"time"

	"mvdan.cc/sh/v3/syntax"
)

// MaxSize bounds what is parsed at all. Start-up scripts are a few
// kilobytes; the largest that login shells source (bash-completion) is
// about 100 KiB.
const MaxSize = 4 << 20

// inProcessRisk is the count of nesting characters (see risk) up to which a
// file is parsed here directly. The deepest-nesting construct costs the
// parser about 7 KiB of stack per character (measured: "(((" inside an
// arithmetic expression), so this keeps a direct parse under 30 MiB of
// stack, far from the runtime's 1 GiB limit.
const inProcessRisk = 4096

// probeStack caps the stack of the child that tries a risky file: about
// 4,500 levels of the costliest construct, far more than any real script
// nests, and small enough for any helper.
const probeStack = 32 << 20

// probeTimeout bounds the child; parsing 4 MiB takes well under a second.
const probeTimeout = 60 * time.Second

// LimitError says why a file was not parsed: too large, or nested so deep
// that parsing it would crash (bash itself fails on such files: a
// syntax error, or a segmentation fault for deeply nested "$(").
type LimitError struct {
	Reason string
}

func (e *LimitError) Error() string { return e.Reason }

// ErrLimit matches every *LimitError with errors.Is.
var ErrLimit = errors.New("shell file beyond the parser's limits")

// Is makes errors.Is(err, ErrLimit) true for a LimitError.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// Parse parses data as bash. name is used in error positions. A syntax
// error is returned as the parser's syntax.ParseError; a file beyond the
// limits as a *LimitError.
func Parse(data []byte, name string, opts ...syntax.ParserOption) (*syntax.File, error) {
	if len(data) > MaxSize {
		return nil, &LimitError{Reason: fmt.Sprintf("%d bytes, more than the %d a shell start-up file can sensibly hold", len(data), MaxSize)}
	}
	if risk(data) > inProcessRisk {
		if err := probe(data); err != nil {
			return nil, err
		}
	}
	p := syntax.NewParser(append([]syntax.ParserOption{syntax.Variant(syntax.LangBash)}, opts...)...)
	return p.Parse(bytes.NewReader(data), name)
}

// risk counts what can open a level of nesting in the parser: every ASCII
// punctuation character (brackets, quotes, $, operators) and every
// keyword-like word. Letters, digits, blanks and the characters of paths
// and options cannot, so ordinary text costs nothing.
func risk(data []byte) int {
	n := 0
	for _, c := range data {
		switch {
		case c == '.' || c == '/' || c == '_' || c == ',' || c == '@' || c == '%' || c == '#':
		case c > ' ' && c < '0', c > '9' && c < 'A', c > 'Z' && c < 'a' && c != '_', c > 'z' && c < 0x7f:
			n++
		}
	}
	for _, kw := range keywords {
		n += bytes.Count(data, kw)
	}
	return n
}

// keywords start a nested statement list (or, for time and coproc, nest
// the command that follows).
var keywords = [][]byte{
	[]byte("if"), []byte("while"), []byte("until"), []byte("for"), []byte("select"),
	[]byte("case"), []byte("time"), []byte("coproc"), []byte("function"),
}

// probeEnv, when set in a process's environment, makes it a probe child:
// it parses its standard input and exits (see init).
const probeEnv = "RESCUE_SHELL_PROBE"

// probe parses data in a child process (this very executable) whose stack
// is capped. A child that dies means the file nests too deep.
func probe(data []byte) error {
	exe, err := os.Executable()
	if err != nil {
		return &LimitError{Reason: fmt.Sprintf("deeply nested, and it could not be parsed safely: %v", err)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), probeEnv+"=1", "GOTRACEBACK=none")
	cmd.Stdin = bytes.NewReader(data)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return &LimitError{Reason: fmt.Sprintf("parsing it took longer than %s", probeTimeout)}
	case bytes.Contains(out.Bytes(), []byte("stack")):
		return &LimitError{Reason: "nested too deeply to parse (bash fails on such files too)"}
	}
	return &LimitError{Reason: fmt.Sprintf("deeply nested, and it could not be parsed safely: %v", err)}
}

// init turns a probe child into a parser of its standard input: it exits
// 0 when parsing ends (with or without a syntax error) and dies of a stack
// overflow otherwise. Being in init, it works in the rescue binary and in
// every test binary that links this package alike.
func init() {
	if os.Getenv(probeEnv) == "" {
		return
	}
	debug.SetMaxStack(probeStack)
	debug.SetMemoryLimit(512 << 20)
	data, err := readAll(os.Stdin)
	if err != nil {
		os.Exit(3)
	}
	syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(bytes.NewReader(data), "")
	os.Exit(0)
}

func readAll(f *os.File) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(&limited{f, MaxSize + 1})
	return b.Bytes(), err
}

type limited struct {
	f *os.File
	n int
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("too large")
	}
	if len(p) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= n
	return n, err
}

// Lines maps byte offsets of a file to 1-based line numbers. The parser's
// positions carry line numbers only up to 262,143 (and 0 beyond), while
// their byte offsets are exact, so findings take lines from here.
type Lines struct {
	starts []int // byte offset where each line starts
}

// NewLines indexes data's lines.
func NewLines(data []byte) *Lines {
	l := &Lines{starts: []int{0}}
	for i, c := range data {
		if c == '\n' {
			l.starts = append(l.starts, i+1)
		}
	}
	return l
}

// At returns the line holding the byte at offset.
func (l *Lines) At(offset uint) int {
	return sort.Search(len(l.starts), func(i int) bool { return l.starts[i] > int(offset) })
}

// Text returns line n (1-based) of data without its newline, or "".
func (l *Lines) Text(data []byte, n int) string {
	if n < 1 || n > len(l.starts) {
		return ""
	}
	start, end := l.starts[n-1], len(data)
	if n < len(l.starts) {
		end = l.starts[n] - 1
	}
	if start > end {
		return ""
	}
	return string(data[start:end])
}
