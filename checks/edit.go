package checks

import (
	"fmt"
	"strings"

	"rescue/repair"
	"rescue/sysroot"
)

// Marker starts every line rescue comments out, so that an operator (and
// rescue itself, on the next scan) can tell its edits from the author's.
const Marker = "# disabled by rescue"

// Lines splits file content into lines without their newlines, and says
// whether the last line had one, so JoinLines can rebuild it exactly.
func Lines(data []byte) (lines []string, finalNewline bool) {
	s := string(data)
	if s == "" {
		return nil, true
	}
	finalNewline = strings.HasSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\n")
	return strings.Split(s, "\n"), finalNewline
}

// JoinLines is the inverse of Lines.
func JoinLines(lines []string, finalNewline bool) []byte {
	s := strings.Join(lines, "\n")
	if finalNewline && len(lines) > 0 {
		s += "\n"
	}
	return []byte(s)
}

// CommentOut plans commenting out line n (1-based) of the file at path,
// whose current content is data, as "# disabled by rescue: WHY: <line>".
// Every other byte of the file stays as it is.
func CommentOut(root *sysroot.Root, path string, data []byte, n int, why, message string) (repair.Fix, error) {
	lines, nl := Lines(data)
	if n < 1 || n > len(lines) {
		return repair.Fix{}, fmt.Errorf("%s has no line %d", path, n)
	}
	lines[n-1] = Marker + ": " + why + ": " + lines[n-1]
	return repair.NewFix(message).Add(repair.WriteFile(root, path, JoinLines(lines, nl))).Build()
}

// ReplaceLine plans replacing line n (1-based) of the file at path, whose
// current content is data, with text.
func ReplaceLine(root *sysroot.Root, path string, data []byte, n int, text, message string) (repair.Fix, error) {
	lines, nl := Lines(data)
	if n < 1 || n > len(lines) {
		return repair.Fix{}, fmt.Errorf("%s has no line %d", path, n)
	}
	lines[n-1] = text
	return repair.NewFix(message).Add(repair.WriteFile(root, path, JoinLines(lines, nl))).Build()
}
