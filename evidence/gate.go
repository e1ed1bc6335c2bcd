package evidence

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// A log holds hundreds of thousands of lines and the analyzer tries some
// sixty expressions on each; almost no line matches any. Each expression's
// needles are literal strings one of which every match must contain,
// derived from the expression itself, so that a line without any of them
// is not handed to the regexp engine at all. An expression for which no
// such set can be derived is always tried.
var needles = map[*regexp.Regexp][]string{}

func init() {
	var all []*regexp.Regexp
	for _, f := range Fatal {
		all = append(all, f.Re)
	}
	for _, re := range Reasons {
		all = append(all, re)
	}
	for _, r := range stageRules {
		all = append(all, r.re)
	}
	for _, r := range eventRules {
		all = append(all, r.re)
	}
	all = append(all, shutdownLine, sessionOpened, sessionClosed, memoryLine, rootMount, diskFound, nicRename, nicFound)
	for _, re := range all {
		if n := literals(re.String()); len(n) > 0 {
			needles[re] = n
		}
	}
}

// mayMatch reports whether re can match s: false only when s holds none
// of re's needles.
func mayMatch(re *regexp.Regexp, s string) bool {
	ns, ok := needles[re]
	if !ok {
		return true
	}
	for _, n := range ns {
		if strings.Contains(s, n) {
			return true
		}
	}
	return false
}

// literals returns strings one of which every match of expr contains, or
// nil when it cannot tell.
func literals(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	return required(re.Simplify())
}

func required(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil
		}
		return []string{string(re.Rune)}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			l := required(sub)
			if l == nil {
				return nil
			}
			out = append(out, l...)
		}
		return out
	case syntax.OpConcat:
		// Every part of a concatenation is in every match: the longest
		// literal part is the best needle; else any part that has
		// needles.
		best := ""
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral && sub.Flags&syntax.FoldCase == 0 && len(string(sub.Rune)) > len(best) {
				best = string(sub.Rune)
			}
		}
		if len(best) >= 3 {
			return []string{best}
		}
		var out []string
		for _, sub := range re.Sub {
			if l := required(sub); l != nil && (out == nil || shortest(l) > shortest(out)) {
				out = l
			}
		}
		if out == nil && best != "" {
			return []string{best}
		}
		return out
	}
	return nil
}

func shortest(ss []string) int {
	n := -1
	for _, s := range ss {
		if n < 0 || len(s) < n {
			n = len(s)
		}
	}
	return n
}
