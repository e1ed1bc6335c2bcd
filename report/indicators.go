package report

import (
	"fmt"
	"io"
	"strings"

	"rescue/checks"
)

// WriteIndicators lists what the intrusion checks found, grouped by the
// place it persists in (cron, systemd, ld.so.preload, …): for each entry
// its marks, then the URLs, hosts and wallets it names and the files it
// involves with their sha256 and times, which an incident responder hands
// on. It writes nothing when no finding carries indicators.
func WriteIndicators(w io.Writer, fs []checks.Finding, st Style) {
	var places []string
	by := map[string][]checks.Finding{}
	for _, f := range fs {
		if f.Indicators == nil {
			continue
		}
		p := f.Indicators.Place
		if _, ok := by[p]; !ok {
			places = append(places, p)
		}
		by[p] = append(by[p], f)
	}
	if len(places) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s\n", st.bold("INTRUSION INDICATORS, by where they persist"))
	for _, p := range places {
		fmt.Fprintf(w, "  %s\n", st.bold(p))
		for _, f := range by[p] {
			ind := f.Indicators
			var codes []string
			for _, m := range ind.Marks {
				codes = append(codes, m.Code)
			}
			where := f.Where()
			if where == "" {
				where = f.Subject
			}
			fmt.Fprintf(w, "    %s  [%s]\n", where, strings.Join(codes, ", "))
			for _, u := range ind.URLs {
				fmt.Fprintf(w, "      url     %s\n", u)
			}
			for _, h := range ind.Hosts {
				fmt.Fprintf(w, "      host    %s\n", h)
			}
			for _, x := range ind.Wallets {
				fmt.Fprintf(w, "      wallet  %s\n", x)
			}
			for _, k := range ind.Keys {
				fmt.Fprintf(w, "      key     %s\n", k)
			}
			for _, file := range ind.Files {
				fmt.Fprintf(w, "      %-7s %s\n", file.Role, describeFile(file))
			}
		}
	}
}

func describeFile(f checks.IndicatorFile) string {
	if f.Missing {
		return f.Path + " (missing)"
	}
	parts := []string{f.Path}
	if f.Target != "" {
		parts = append(parts, "-> "+f.Target)
	}
	if f.SHA256 != "" {
		parts = append(parts, fmt.Sprintf("sha256 %s, %d bytes", f.SHA256, f.Size))
	}
	if !f.MTime.IsZero() {
		parts = append(parts, "mtime "+f.MTime.Format("2006-01-02 15:04:05Z"))
	}
	if !f.CTime.IsZero() {
		parts = append(parts, "ctime "+f.CTime.Format("2006-01-02 15:04:05Z"))
	}
	if len(f.Flags) > 0 {
		parts = append(parts, strings.Join(f.Flags, "+"))
	}
	if f.Package != "" {
		s := "package " + f.Package
		if f.Verified != nil && !*f.Verified {
			s += " (changed)"
		}
		parts = append(parts, s)
	} else if f.Unowned {
		parts = append(parts, "no package")
	}
	return strings.Join(parts, ", ")
}
