package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"rescue/bytesize"
	"rescue/disk"
	"rescue/safetext"
)

// ProbeSchema versions the JSON of rescue probe.
const ProbeSchema = "rescue.probe/v1"

// Probe is what rescue probe found (schema rescue.probe/v1).
type Probe struct {
	Schema     string           `json:"schema"`
	Disk       *disk.Disk       `json:"disk"`
	Candidates []disk.Candidate `json:"candidates,omitempty"`
	Root       string           `json:"root,omitempty"`
	RootError  string           `json:"root_error,omitempty"`
}

// size writes a disk, partition or extent size as probe shows it.
func size(n int64) string { return bytesize.Format(n, bytesize.Short) }

// WriteProbe writes what rescue probe found as text: the partition table,
// the volumes and their roles, and which one is the root.
func WriteProbe(w io.Writer, r *Probe) {
	d := r.Disk
	table := "no partition table"
	if d.Table != nil {
		table = fmt.Sprintf("%s partition table, id %s", strings.ToUpper(d.Table.Kind), d.Table.ID)
	}
	fmt.Fprintf(w, "%s: %s, %s\n", d.Path, size(d.Size), table)
	if d.Table != nil && len(d.Table.Partitions) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  #\tSTART\tSIZE\tTYPE\tPARTUUID\tNAME")
		for _, p := range d.Table.Partitions {
			typ := p.TypeName
			if typ == "" {
				typ = p.Type
			}
			if p.Bootable {
				typ += " (boot)"
			}
			if p.Logical {
				typ += " (logical)"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", p.Number, size(p.Start), size(p.Size), typ, p.PartUUID, safetext.Line(p.Name))
		}
		tw.Flush()
	}
	roles := map[string]disk.Candidate{}
	for _, c := range r.Candidates {
		roles[c.Name] = c
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VOLUME\tTYPE\tUUID\tLABEL\tROLE\tSTATE")
	for _, v := range d.Volumes {
		typ, uuid, label, state := "-", "", "", ""
		if v.FS != nil {
			typ, uuid, label = v.FS.Type, v.FS.UUID, v.FS.Label
			state = fsState(v.FS.State)
		}
		if v.Problem != "" {
			state = joinState(state, "unusable: "+v.Problem)
		}
		if v.HostDuplicate != "" {
			state = joinState(state, "same UUID as the helper's "+v.HostDuplicate)
		}
		role := roles[v.Name].Role
		if role == "" && v.FS != nil {
			switch v.FS.Type {
			case "swap":
				role = "swap"
			case "LVM2_member":
				role = "lvm-pv"
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", v.Name, safetext.Line(typ), safetext.Line(uuid), safetext.Line(label), role, safetext.Line(state))
	}
	tw.Flush()
	for _, vg := range d.Groups {
		fmt.Fprintf(w, "\nLVM volume group %s: %d PV(s), %d LV(s), extent %s\n", safetext.Line(vg.Name), len(vg.PVs), len(vg.LVs), size(vg.ExtentSize))
	}
	fmt.Fprintln(w)
	switch {
	case r.Root != "":
		c := roles[r.Root]
		osName := ""
		if c.OS != "" {
			osName = fmt.Sprintf(" holding %s", c.OS)
		}
		fmt.Fprintf(w, "Root: %s%s\n  %s\n", r.Root, safetext.Line(osName), safetext.Line(c.Why()))
	case r.RootError != "":
		fmt.Fprintf(w, "Root: not determined: %s\n", safetext.Line(r.RootError))
	}
	for _, c := range r.Candidates {
		if c.Role == disk.RoleRoot && c.Name != r.Root {
			fmt.Fprintf(w, "  also a candidate: %s (%s), scored %d: %s\n", c.Name, safetext.Line(c.OS), c.Score, safetext.Line(strings.Join(c.Reasons, "; ")))
		}
		if c.Error != "" {
			fmt.Fprintf(w, "  %s could not be looked into: %s\n", c.Name, safetext.Line(c.Error))
		}
	}
	if len(d.Warnings) > 0 {
		fmt.Fprintln(w)
		for _, x := range d.Warnings {
			fmt.Fprintf(w, "warning: %s\n", safetext.Line(x))
		}
	}
}

func fsState(st *disk.FSState) string {
	if st == nil {
		return ""
	}
	var parts []string
	if st.Errors {
		p := "errors recorded"
		if st.LastError != "" {
			p += " (" + st.LastError + ")"
		}
		parts = append(parts, p)
	}
	if st.NeedsRecovery {
		parts = append(parts, "needs journal/log recovery")
	}
	if st.NotClean {
		parts = append(parts, "not cleanly unmounted")
	}
	if len(parts) == 0 {
		return "clean"
	}
	return strings.Join(parts, ", ")
}

func joinState(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
