package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"rescue/evidence"
)

// maxOtherEvents bounds the events besides the decisive ones the text
// report lists per boot; --json has them all.
const maxOtherEvents = 5

// WriteLastBoot writes the "last boot" section: for each boot read (the
// console's, the journal's, the text logs'), how far it got, the decisive
// lines with their source and time, and the findings that explain each or
// "not explained by any check".
func WriteLastBoot(w io.Writer, lb *evidence.Report, st Style) {
	if lb == nil {
		return
	}
	fmt.Fprintf(w, "\n%s\n", st.bold("LAST BOOT"))
	if len(lb.Boots) == 0 {
		fmt.Fprintf(w, "  no record of a boot: no journal or text logs on the disk, and no --console capture\n")
	}
	for _, a := range lb.Boots {
		writeBoot(w, a, st)
	}
	writeMachine(w, lb.Machine)
	for _, n := range lb.Notes {
		fmt.Fprintf(w, "  note: %s\n", safe(n))
	}
}

func writeBoot(w io.Writer, a *evidence.Analysis, st Style) {
	head := fmt.Sprintf("%s: %s", capital(a.Describe()), a.Class)
	if a.Reached != "" {
		head += ", reached " + string(a.Reached)
	}
	fmt.Fprintf(w, "  %s\n", st.bold(safe(head)))
	if a.Why != "" {
		fmt.Fprintf(w, "    %s\n", safe(a.Why))
	}
	var span []string
	if !a.Start.IsZero() {
		span = append(span, a.Start.Format("2006-01-02 15:04:05")+" to "+a.End.Format("15:04:05 MST"))
	}
	switch {
	case a.Ended != "":
		span = append(span, "ended with a "+a.Ended)
	case a.Boot == "previous":
		span = append(span, "no shutdown recorded: it crashed, hung or lost power")
	}
	if a.Lines > 0 {
		span = append(span, fmt.Sprintf("%d lines", a.Lines))
	}
	if len(span) > 0 {
		fmt.Fprintf(w, "    %s\n", strings.Join(span, "; "))
	}
	for _, d := range a.Damage {
		fmt.Fprintf(w, "    %s %s\n", st.dim("damaged:"), safe(d))
	}
	// Every decisive event; a few others for the last boot.
	shown, hidden := 0, 0
	for _, e := range a.Events {
		if !e.Decisive && (a.Boot != "last" || shown >= maxOtherEvents) {
			hidden++
			continue
		}
		if !e.Decisive {
			shown++
		}
		writeEvent(w, e, st)
	}
	if hidden > 0 {
		fmt.Fprintf(w, "    (%d more events in --json)\n", hidden)
	}
}

func writeEvent(w io.Writer, e evidence.Event, st Style) {
	mark := " "
	if e.Decisive {
		mark = "!"
	}
	count := ""
	if e.Count > 1 {
		count = fmt.Sprintf(" (%d times)", e.Count)
	}
	fmt.Fprintf(w, "    %s %s %s%s\n", mark, st.dim(where(e.Line)), safe(e.Line.Text), count)
	switch {
	case len(e.Findings) > 0:
		fmt.Fprintf(w, "        %s: explained by %s\n", e.Kind, strings.Join(e.Findings, ", "))
	default:
		fmt.Fprintf(w, "        %s: %s\n", e.Kind, st.red("not explained by any check"))
	}
}

// where names a line's source and time: "console:812 [91.234]",
// "journal 01:54:03".
func where(l evidence.Line) string {
	s := l.Source
	if l.N > 0 {
		s += fmt.Sprintf(":%d", l.N)
	}
	switch {
	case !l.Time.IsZero():
		s += " " + l.Time.Format(time.TimeOnly)
	case l.HasUptime:
		s += fmt.Sprintf(" [%.3f]", l.Uptime.Seconds())
	}
	return safe(s)
}

func writeMachine(w io.Writer, m evidence.MachineFacts) {
	for _, f := range []struct {
		name string
		fact *evidence.Fact
	}{{"memory", m.Memory}, {"disk bus", m.DiskBus}, {"NICs", m.NICs}} {
		if f.fact == nil {
			continue
		}
		fmt.Fprintf(w, "  machine %s: %s, from %s: %s\n", f.name, safe(f.fact.Value), safe(f.fact.From), safe(f.fact.Line.Text))
	}
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// safe shows disk-originated text without what could change the
// terminal or forge a line: control characters become visible escapes.
func safe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 && r != '\t' || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
