package checks

import (
	"bytes"
	"fmt"
	"strings"
	"sync"

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
// Every other byte of the file stays as it is. The fix carries the edit of
// that one line, not a copy of the file: a file with thousands of findings
// must not cost thousands of copies.
func CommentOut(root *sysroot.Root, path string, data []byte, n int, why, message string) (repair.Fix, error) {
	start, end, ok := lineSpan(data, n)
	if !ok {
		return repair.Fix{}, fmt.Errorf("%s has no line %d", path, n)
	}
	text := Marker + ": " + why + ": " + string(data[start:end])
	return repair.NewFix(message).Add(repair.EditFile(root, path, data, []repair.Edit{{Start: start, End: end, New: []byte(text)}})).Build()
}

// CommentOutLines plans commenting out lines first to last (1-based) of
// the file at path, as CommentOut does each: a statement that runs over
// several lines (a quoted newline, a backslash at the end of a line) must
// go whole, or what is left of it is a syntax error.
func CommentOutLines(root *sysroot.Root, path string, data []byte, first, last int, why, message string) (repair.Fix, error) {
	var edits []repair.Edit
	for n := first; n <= last; n++ {
		start, end, ok := lineSpan(data, n)
		if !ok {
			return repair.Fix{}, fmt.Errorf("%s has no line %d", path, n)
		}
		edits = append(edits, repair.Edit{Start: start, End: end, New: []byte(Marker + ": " + why + ": " + string(data[start:end]))})
	}
	return repair.NewFix(message).Add(repair.EditFile(root, path, data, edits)).Build()
}

// ReplaceLine plans replacing line n (1-based) of the file at path, whose
// current content is data, with text.
func ReplaceLine(root *sysroot.Root, path string, data []byte, n int, text, message string) (repair.Fix, error) {
	start, end, ok := lineSpan(data, n)
	if !ok {
		return repair.Fix{}, fmt.Errorf("%s has no line %d", path, n)
	}
	return repair.NewFix(message).Add(repair.EditFile(root, path, data, []repair.Edit{{Start: start, End: end, New: []byte(text)}})).Build()
}

// lineSpan returns the byte range of line n (1-based) of data, without its
// newline, with the numbering of Lines.
func lineSpan(data []byte, n int) (start, end int, ok bool) {
	starts := lineStarts(data)
	if n < 1 || n > len(starts) {
		return 0, 0, false
	}
	start, end = starts[n-1], len(data)
	if n < len(starts) {
		end = starts[n] - 1
	} else if end > start && data[end-1] == '\n' {
		end--
	}
	return start, end, true
}

// lastLines caches the line starts of the content a check edits last: a
// check makes one fix per bad line, and finding line n anew each time made
// 20,000 fixes of one file quadratic. The cache holds the very slice it
// indexed, so its memory cannot be reused for other content while cached.
var lastLines struct {
	sync.Mutex
	data   []byte
	starts []int
}

// lineStarts returns where each line of data starts, as Lines counts them.
func lineStarts(data []byte) []int {
	if len(data) == 0 {
		return nil
	}
	lastLines.Lock()
	defer lastLines.Unlock()
	if len(lastLines.data) == len(data) && &lastLines.data[0] == &data[0] {
		return lastLines.starts
	}
	starts := []int{0}
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 || i+j+1 == len(data) {
			break
		}
		i += j + 1
		starts = append(starts, i)
	}
	lastLines.data, lastLines.starts = data, starts
	return starts
}
