// Package kver compares kernel and package versions the way rpm does
// (rpmvercmp), which also orders Debian kernel versions correctly:
// "6.1.0-18-amd64" is newer than "6.1.0-9-amd64", and
// "5.14.0-362.8.1.el9_3" newer than "5.14.0-70.13.1.el9_0". A plain string
// comparison gets both wrong.
package kver

import "strings"

// Compare returns -1, 0 or 1 as a is older than, equal to or newer than b.
// Versions are split into runs of digits and runs of letters; anything
// else separates runs. Digit runs compare as numbers and beat letter runs;
// a tilde sorts before everything (a pre-release), a caret after the end
// of the other version (a post-release snapshot), as rpm has it.
func Compare(a, b string) int {
	if a == b {
		return 0
	}
	for {
		a = strings.TrimLeftFunc(a, isSep)
		b = strings.TrimLeftFunc(b, isSep)
		// Tilde: the side that has it is older.
		if strings.HasPrefix(a, "~") || strings.HasPrefix(b, "~") {
			if !strings.HasPrefix(a, "~") {
				return 1
			}
			if !strings.HasPrefix(b, "~") {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		// Caret: newer than the end of the other version, older than
		// anything else.
		if strings.HasPrefix(a, "^") || strings.HasPrefix(b, "^") {
			switch {
			case a == "":
				return -1
			case b == "":
				return 1
			case !strings.HasPrefix(a, "^"):
				return 1
			case !strings.HasPrefix(b, "^"):
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		if a == "" || b == "" {
			break
		}
		numeric := isDigit(a[0])
		var sa, sb string
		if numeric {
			sa, a = span(a, isDigit)
			sb, b = span(b, isDigit)
		} else {
			sa, a = span(a, isAlpha)
			sb, b = span(b, isAlpha)
		}
		if sb == "" {
			// Different kinds of run: the numeric one is newer.
			if numeric {
				return 1
			}
			return -1
		}
		if numeric {
			sa = strings.TrimLeft(sa, "0")
			sb = strings.TrimLeft(sb, "0")
			if len(sa) != len(sb) {
				if len(sa) > len(sb) {
					return 1
				}
				return -1
			}
		}
		if c := strings.Compare(sa, sb); c != 0 {
			return c
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isSep(r rune) bool {
	return r != '~' && r != '^' && !(r < 0x80 && (isDigit(byte(r)) || isAlpha(byte(r))))
}

func span(s string, ok func(byte) bool) (string, string) {
	i := 0
	for i < len(s) && ok(s[i]) {
		i++
	}
	return s[:i], s[i:]
}
