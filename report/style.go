package report

import "rescue/checks"

// Style colours text output; the zero Style is plain (not a terminal, or
// NO_COLOR set).
type Style struct{ Color bool }

func (s Style) wrap(code, text string) string {
	if !s.Color {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s Style) bold(t string) string { return s.wrap("1", t) }
func (s Style) dim(t string) string  { return s.wrap("2", t) }
func (s Style) red(t string) string  { return s.wrap("31", t) }

func (s Style) severity(sev checks.Severity, t string) string {
	switch sev {
	case checks.Critical:
		return s.wrap("1;31", t)
	case checks.Error:
		return s.wrap("1;35", t)
	case checks.Warning:
		return s.wrap("1;33", t)
	}
	return s.wrap("1", t)
}
