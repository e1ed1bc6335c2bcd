package checks

import (
	"strings"
	"testing"
)

// An 8 MB line on the disk must not make an 8 MB finding.
func TestReportBoundsText(t *testing.T) {
	huge := strings.Repeat("A", 8<<20)
	p := &Pass{Check: &Check{Name: "c"}}
	ev := make([]string, 1000)
	for i := range ev {
		ev[i] = huge
	}
	p.Report(Finding{Kind: "k", Subject: huge, Message: huge, Evidence: ev})
	p.Report(Finding{Kind: "k", Subject: huge + "B", Message: "m"})
	f := p.findings[0]
	size := len(f.ID) + len(f.Subject) + len(f.Message)
	for _, e := range f.Evidence {
		size += len(e)
	}
	if size > 32<<10 {
		t.Errorf("finding holds %d bytes of text", size)
	}
	if len(f.Evidence) != maxEvidenceLines || !strings.Contains(f.Evidence[len(f.Evidence)-1], "981 more lines") {
		t.Errorf("evidence: %d lines, last %q", len(f.Evidence), f.Evidence[len(f.Evidence)-1])
	}
	if !strings.HasSuffix(f.Message, "more bytes]") {
		t.Errorf("a cut message says so: %q", f.Message[len(f.Message)-40:])
	}
	if f.ID == p.findings[1].ID {
		t.Errorf("subjects that differ only past the cut share the id %s", f.ID)
	}
}
