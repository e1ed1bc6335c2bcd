// Package safetext makes text that came from a disk safe to print on a
// terminal. A file name, a configuration line, a GPT partition name or a
// filesystem label is chosen by whoever wrote the disk: printed raw, an
// escape sequence in it can clear the screen, retitle the window or hide
// text, and a newline in it can forge a line of the report ("  ok: nothing
// found"). Text output passes every such string through Line; JSON output
// needs nothing, since its encoder escapes control characters itself.
package safetext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Line returns s with everything that could start a new line, move the
// cursor or change the terminal's state shown as a visible escape:
// newline and carriage return as \n and \r, other C0 controls, DEL and
// bytes that are not UTF-8 as \xNN, C1 controls, line and paragraph
// separators and the bidirectional overrides (which reorder what follows
// them on screen) as \uNNNN. Tabs stay: configuration files are full of
// them, and a tab cannot forge or hide anything. A backslash is kept as it
// is, so Line is for reading, not for parsing back. Text with nothing to
// escape is returned as it is, without copying.
func Line(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c == '\t' {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError && !unsafeRune(r) {
				i += n
				continue
			}
		}
		break
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t' || c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		case c < utf8.RuneSelf:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && n <= 1:
				fmt.Fprintf(&b, `\x%02x`, c)
			case unsafeRune(r):
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteString(s[i : i+n])
			}
			i += n
			continue
		}
		i++
	}
	return b.String()
}

// unsafeRune reports whether a non-ASCII rune acts on the terminal or the
// layout rather than showing a character.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls (CSI is U+009B)
		return true
	case r == 0x2028 || r == 0x2029: // line and paragraph separators
		return true
	case r == 0x200e || r == 0x200f || r == 0x061c: // direction marks
		return true
	case r >= 0x202a && r <= 0x202e: // embeddings and overrides
		return true
	case r >= 0x2066 && r <= 0x2069: // isolates
		return true
	case r == 0xfeff: // a byte-order mark inside text hides itself
		return true
	}
	return false
}

// Cut shortens s to at most max bytes (at a character boundary), ending
// it with a marker that says how much was left out. Findings quote lines
// from the disk, and one line can be megabytes long.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	end := max
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + fmt.Sprintf(" …[%d more bytes]", len(s)-end)
}
