package evidence

import (
	"regexp"

	"rescue/parse/console"
)

// bootStart is the kernel's first line; firmwareLine what the firmware and
// boot loader print before it, which belongs to the same boot.
var (
	bootStart    = regexp.MustCompile(`^Linux version \d`)
	firmwareLine = regexp.MustCompile(`GNU GRUB|Welcome to GRUB|^\s*Booting |^Loading Linux |^Loading initial ramdisk|SeaBIOS|iPXE|^Booting from |BdsDxe|^Press ESC|^UEFI|^Loading .*\.efi|^error: |^grub> `)
)

// Console analyses a console capture: its last boot and the one before,
// when the capture holds more than one (a capture is the console's newest
// output, and may begin in the middle of a boot).
func Console(c *console.Capture, name string) []*Analysis {
	lines := make([]Line, 0, len(c.Lines))
	for _, cl := range c.Lines {
		lines = append(lines, consoleLine(cl))
	}
	// Boots start at the kernel's first line, or at the firmware and
	// boot loader lines just before it.
	var starts []int
	for i, l := range lines {
		if bootStart.MatchString(l.Text) && (!l.HasUptime || l.Uptime == 0) {
			j := i
			for j > 0 && firmwareLine.MatchString(lines[j-1].Text) && (len(starts) == 0 || j-1 > starts[len(starts)-1]) {
				j--
			}
			starts = append(starts, j)
		}
	}
	if len(starts) == 0 || starts[0] != 0 {
		starts = append([]int{0}, starts...)
	}
	var out []*Analysis
	for k := len(starts) - 1; k >= 0 && len(out) < 2; k-- {
		end := len(lines)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		which := "last"
		if len(out) == 1 {
			which = "previous"
		}
		a := &Analysis{Source: "console", Files: []string{name}, Boot: which}
		z := newAnalyzer(a, true)
		for _, l := range lines[starts[k]:end] {
			z.add(l)
		}
		out = append(out, z.finish())
	}
	return out
}

// consoleLine turns a console line into a Line: the kernel's timestamp
// becomes the uptime, systemd's status column and "name[pid]: " are cut.
func consoleLine(cl console.Line) Line {
	l := Line{Source: "console", N: cl.N, Text: cl.Text, Uptime: cl.Uptime, HasUptime: cl.HasUptime}
	if cl.HasUptime {
		l.Text = kernelPrefix.ReplaceAllString(l.Text, "")
		l.Ident = "kernel"
	}
	l.Text = statusPrefix.ReplaceAllString(l.Text, "")
	if m := procPrefix.FindStringSubmatch(l.Text); m != nil {
		l.Ident, l.Text = m[1], l.Text[len(m[0]):]
	}
	return l
}
