package evidence

import (
	"fmt"
	"strings"
	"time"

	"rescue/bytesize"
	"rescue/parse/console"
	"rescue/sysroot"
)

// Options say what to read besides the target's own logs.
type Options struct {
	// Console is a serial console capture (nil: none given); ConsoleName
	// names it in the report.
	Console     []byte
	ConsoleName string
}

// Report is the "last boot" section of a scan.
type Report struct {
	// Boots are the analyses: the console's last boot (when a capture
	// was given), the journal's last boot and the one before, and the
	// text logs' last boot and the one before, in that order.
	Boots []*Analysis `json:"boots"`
	// Machine is what the last boot told about the machine.
	Machine MachineFacts `json:"machine"`
	// Notes say what could not be read.
	Notes []string `json:"notes,omitempty"`
}

// Fact is one value about the machine and where it was read.
type Fact struct {
	Value string `json:"value"`
	// Bytes is the value in bytes, for a size.
	Bytes int64 `json:"bytes,omitempty"`
	// From says which source and boot the value came from; Line is the
	// line.
	From string `json:"from"`
	Line Line   `json:"line"`
}

// MachineFacts are the facts of the machine for the checks, each from the
// newest last boot that told it: the console's, else the journal's, else
// the text logs'.
type MachineFacts struct {
	Memory  *Fact `json:"memory,omitempty"`
	DiskBus *Fact `json:"disk_bus,omitempty"`
	NICs    *Fact `json:"nics,omitempty"`
}

// Read reads the target's logs, and the console capture when given.
func Read(root *sysroot.Root, opt Options) *Report {
	r := &Report{Boots: []*Analysis{}}
	if opt.Console != nil {
		name := opt.ConsoleName
		if name == "" {
			name = "console"
		}
		c := console.Decode(opt.Console)
		if c.Dropped > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: the first %d lines were left out (only the last %d are read)", name, c.Dropped, console.MaxLines))
		}
		// Only the console's last boot: the one before is older than
		// what the disk's own logs hold, or is the same boot.
		r.Boots = append(r.Boots, Console(c, name)[0])
	}
	var starts []time.Time
	if root != nil {
		js, notes := readJournal(root)
		r.Boots = append(r.Boots, js...)
		r.Notes = append(r.Notes, notes...)
		for _, a := range js {
			if !a.Start.IsZero() {
				starts = append(starts, a.Start)
			}
		}
		ts, notes := readTextLogs(root, starts)
		r.Boots = append(r.Boots, ts...)
		r.Notes = append(r.Notes, notes...)
	}
	r.Machine = machineFacts(r.Boots)
	return r
}

// Last returns the last boot of a source ("console", "journal", "logs"),
// or nil.
func (r *Report) Last(source string) *Analysis {
	if r == nil {
		return nil
	}
	for _, a := range r.Boots {
		if a.Source == source && a.Boot == "last" {
			return a
		}
	}
	return nil
}

func machineFacts(boots []*Analysis) MachineFacts {
	var m MachineFacts
	for _, a := range boots {
		if a.Boot != "last" {
			continue
		}
		mm := a.Machine
		if m.Memory == nil && mm.MemoryBytes > 0 {
			m.Memory = &Fact{Value: bytesize.Format(mm.MemoryBytes, bytesize.Memory), Bytes: mm.MemoryBytes, From: a.describe(), Line: *mm.MemoryFrom}
		}
		if m.DiskBus == nil && mm.Bus != "" {
			m.DiskBus = &Fact{Value: mm.Bus, From: a.describe() + ", disk " + mm.Disk, Line: *mm.DiskFrom}
		}
		if m.NICs == nil && len(mm.NICs) > 0 {
			m.NICs = &Fact{Value: strings.Join(mm.NICs, ","), From: a.describe(), Line: mm.NICsFrom[0]}
		}
	}
	return m
}

// describe names the boot: "the journal's last boot (3f2a…, 2026-12-01
// 01:54)".
func (a *Analysis) describe() string {
	src := map[string]string{"console": "the console capture's", "journal": "the journal's", "logs": "the text logs'"}[a.Source]
	if src == "" {
		src = a.Source + "'s"
	}
	s := src + " " + a.Boot + " boot"
	var q []string
	if a.Source == "console" && len(a.Files) > 0 {
		q = append(q, a.Files[0])
	}
	if a.BootID != "" {
		q = append(q, a.BootID[:min(12, len(a.BootID))])
	}
	if !a.Start.IsZero() {
		q = append(q, a.Start.Format("2006-01-02 15:04:05 MST"))
	}
	if len(q) > 0 {
		s += " (" + strings.Join(q, ", ") + ")"
	}
	return s
}

// Describe is describe, for the report.
func (a *Analysis) Describe() string { return a.describe() }
