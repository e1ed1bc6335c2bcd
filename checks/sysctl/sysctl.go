package sysctl

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"rescue/bytesize"
	"rescue/checks"
	"rescue/facts"
	"rescue/parse/sysctlconf"
	"rescue/repair"
	"rescue/sysroot"
)

// Check is the sysctl check.
var Check = &checks.Check{
	Name:     "sysctl",
	Doc:      doc,
	Requires: []facts.Fact{facts.Memory, facts.Fstab},
	Kinds:    []string{"min-free-kbytes", "nr-hugepages", "overcommit-memory", "panic-on-oom", "pid-max", "tcp-tw-recycle", "file-max", "threads-max", "nr-open"},
	Reads:    []string{"/etc/sysctl.conf", "/etc/sysctl.d/*", "/usr/lib/sysctl.d/*", "/lib/sysctl.d/*"},
	Run:      run,
}

const (
	kib = int64(1) << 10
	mib = int64(1) << 20
	gib = int64(1) << 30
	// hugePage is the default huge page size on x86_64. A different
	// default_hugepagesz= on the kernel command line is not looked at.
	hugePage = 2 * mib
)

func run(pass *checks.Pass) error {
	set := sysctlconf.Load(pass.Root)
	for _, err := range set.Errors {
		pass.Note("%v", err)
	}
	c := &checker{pass: pass, set: set, mem: pass.Facts.Memory()}
	switch from := pass.Facts.MemoryFrom(); {
	case c.mem == 0:
		pass.Note("the instance's memory is not known (--memory): memory settings were judged by absolute values only")
	case from != "--memory":
		pass.Note("memory settings were judged against the instance's %s of RAM, from %s", size(c.mem), from)
	}
	c.minFree()
	c.hugepages()
	c.overcommit()
	c.panicOnOOM()
	c.pidMax()
	c.fileMax()
	c.threadsMax()
	c.nrOpen()
	c.twRecycle()
	return nil
}

type checker struct {
	pass *checks.Pass
	set  *sysctlconf.Set
	mem  int64
}

// verdict is what a check decides about one value.
type verdict struct {
	bad      bool
	severity checks.Severity
	why      string // short reason, used in the marker
	message  string
	impact   string
	noFix    string // set when the value is suspicious but not fixed
	fix      string // the fix message, when the default one does not fit
}

// judge reports the effective value of key when bad says so, with a fix
// that comments out every line setting key to a value bad also rejects.
func (c *checker) judge(key string, bad func(v string) verdict) {
	eff, ok := c.set.Value(key)
	if !ok {
		return
	}
	v := bad(eff.Value)
	if !v.bad {
		return
	}
	f := checks.Finding{
		Kind: kindOf(key), Subject: key, Severity: v.severity, Path: eff.Path, Line: eff.Line,
		Message: v.message, Impact: v.impact,
		Evidence: []string{fmt.Sprintf("%s:%d: %s", eff.Path, eff.Line, strings.TrimRight(eff.Raw, "\r"))},
	}
	if v.noFix != "" {
		f.NoFix = v.noFix
		c.pass.Report(f)
		return
	}
	var lines []sysctlconf.Entry
	for _, e := range c.set.All(key) {
		if bad(e.Value).bad {
			lines = append(lines, e)
		}
	}
	msg := v.fix
	if msg == "" {
		msg = fmt.Sprintf("Comment out %s = %s so that the kernel default applies", key, eff.Value)
	}
	f.AddFix(commentOut(c.pass.Root, lines, v.why, msg))
	c.pass.Report(f)
}

func kindOf(key string) string {
	for _, p := range []string{"vm.", "kernel.", "net.ipv4.", "fs."} {
		key = strings.TrimPrefix(key, p)
	}
	return strings.ReplaceAll(key, "_", "-")
}

// commentOut plans one fix that comments out every given line, grouped by
// file, each with the rescue marker.
func commentOut(root *sysroot.Root, entries []sysctlconf.Entry, why, message string) (repair.Fix, error) {
	b := repair.NewFix(message)
	byFile := map[string][]int{}
	var order []string
	for _, e := range entries {
		if _, ok := byFile[e.Path]; !ok {
			order = append(order, e.Path)
		}
		byFile[e.Path] = append(byFile[e.Path], e.Line)
	}
	for _, p := range order {
		data, err := root.ReadFile(p)
		if err != nil {
			return repair.Fix{}, fmt.Errorf("reading %s: %w", p, err)
		}
		lines, nl := checks.Lines(data)
		for _, n := range byFile[p] {
			if n < 1 || n > len(lines) {
				return repair.Fix{}, fmt.Errorf("%s has no line %d", p, n)
			}
			lines[n-1] = checks.Marker + ": " + why + ": " + lines[n-1]
		}
		b.Add(repair.WriteFile(root, p, checks.JoinLines(lines, nl)))
	}
	return b.Build()
}

// parseInt reads a sysctl integer value (the kernel's proc_dointvec takes
// an optional sign and decimal digits).
func parseInt(v string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n, err == nil
}

// size writes a memory size as the findings show it ("4 GiB", "1.5 GiB").
func size(b int64) string { return bytesize.Format(b, bytesize.MemoryShort) }

func (c *checker) share(b int64) string {
	return fmt.Sprintf("(%.0f%% of the instance's %s)", 100*float64(b)/float64(c.mem), size(c.mem))
}

func (c *checker) minFree() {
	c.judge("vm.min_free_kbytes", func(val string) verdict {
		n, ok := parseInt(val)
		if !ok || n <= 0 {
			return verdict{}
		}
		b := n * kib
		v := verdict{
			why:    "keeps too much memory free",
			impact: "the kernel reclaims and OOM-kills to keep that much memory free: services die during boot, logins fail, and the machine may never finish booting",
		}
		switch {
		case c.mem > 0 && b*5 >= c.mem:
			v.bad, v.severity = true, checks.Critical
			v.message = fmt.Sprintf("vm.min_free_kbytes = %d keeps %s free at all times %s", n, size(b), c.share(b))
		case c.mem > 0 && b*20 >= c.mem:
			v.bad, v.severity = true, checks.Warning
			v.message = fmt.Sprintf("vm.min_free_kbytes = %d keeps %s free at all times %s", n, size(b), c.share(b))
			v.impact = "memory the applications cannot use; under load the OOM killer runs early"
		case c.mem == 0 && b >= gib:
			v.bad, v.severity = true, checks.Warning
			v.message = fmt.Sprintf("vm.min_free_kbytes = %d keeps %s free at all times, more than the kernel ever picks itself (give --memory to compare with the instance's RAM)", n, size(b))
			v.impact = "on an instance with a few GiB of RAM the OOM killer runs during boot: services die and logins fail"
		}
		return v
	})
}

func (c *checker) hugepages() {
	c.judge("vm.nr_hugepages", func(val string) verdict {
		n, ok := parseInt(val)
		if !ok || n <= 0 {
			return verdict{}
		}
		b := n * hugePage
		v := verdict{why: "reserves too much memory for huge pages"}
		switch {
		case c.mem > 0 && (b*10 >= c.mem*9 || c.mem-b < 512*mib):
			v.bad, v.severity = true, checks.Critical
			v.message = fmt.Sprintf("vm.nr_hugepages = %d reserves %s as 2 MiB huge pages %s", n, size(b), c.share(b))
			v.impact = "huge pages are taken at boot and nothing else can use them: the rest of the system runs out of memory while booting"
		case c.mem > 0 && b*2 >= c.mem:
			v.bad, v.severity = true, checks.Warning
			v.message = fmt.Sprintf("vm.nr_hugepages = %d reserves %s as 2 MiB huge pages %s", n, size(b), c.share(b))
			v.impact = "only what is left is available to processes that do not use huge pages; under load the OOM killer runs early"
		case c.mem == 0 && b >= 4*gib:
			v.bad, v.severity = true, checks.Info
			v.message = fmt.Sprintf("vm.nr_hugepages = %d reserves %s as 2 MiB huge pages (give --memory to compare with the instance's RAM)", n, size(b))
			v.impact = "on an instance with less RAM than that, the system runs out of memory during boot"
			v.noFix = "whether this starves the machine depends on its RAM: scan again with --memory"
		}
		return v
	})
}

// overcommit judges vm.overcommit_memory = 2 together with the commit limit
// it implies, as the kernel computes it: vm.overcommit_kbytes when set,
// else vm.overcommit_ratio percent (default 50) of the RAM that huge pages
// do not take, plus swap. Swap is what /etc/fstab turns on: a swap file's
// size is read from the target; a swap partition's size is not known, so
// a limit that may be saved by it is only a warning.
func (c *checker) overcommit() {
	ratio, kbytes := int64(50), int64(0)
	ratioNote := "vm.overcommit_ratio is not set (50)"
	if e, ok := c.set.Value("vm.overcommit_ratio"); ok {
		if n, ok := parseInt(e.Value); ok && n >= 0 {
			ratio = n
			ratioNote = fmt.Sprintf("vm.overcommit_ratio = %d (%s:%d)", n, e.Path, e.Line)
		}
	}
	if e, ok := c.set.Value("vm.overcommit_kbytes"); ok {
		if n, ok := parseInt(e.Value); ok && n > 0 {
			kbytes = n
			ratioNote = fmt.Sprintf("vm.overcommit_kbytes = %d (%s:%d)", n, e.Path, e.Line)
		}
	}
	var huge int64
	if e, ok := c.set.Value("vm.nr_hugepages"); ok {
		if n, ok := parseInt(e.Value); ok && n > 0 {
			huge = n * hugePage
		}
	}
	swap, swapNote, swapUnknown := c.swap()
	c.judge("vm.overcommit_memory", func(val string) verdict {
		n, ok := parseInt(val)
		if !ok || n != 2 {
			return verdict{}
		}
		v := verdict{why: "strict overcommit leaves too little memory to commit"}
		limit, sum := int64(-1), ""
		switch {
		case kbytes > 0:
			limit = kbytes*kib + swap
			sum = fmt.Sprintf("%s (overcommit_kbytes)", size(kbytes*kib))
		case c.mem > 0:
			usable := max(c.mem-huge, 0)
			limit = usable*ratio/100 + swap
			sum = fmt.Sprintf("%s RAM", size(c.mem))
			if huge > 0 {
				sum = fmt.Sprintf("(%s RAM - %s huge pages)", size(c.mem), size(huge))
			}
			sum += fmt.Sprintf(" x %d%%", ratio)
		}
		if sum != "" {
			sum += " + " + swapNote + " = " + size(limit)
		}
		low := limit >= 0 && limit < 512*mib || limit < 0 && kbytes == 0 && ratio <= 25 && swap == 0
		switch {
		case low && !swapUnknown:
			v.bad, v.severity = true, checks.Error
			v.impact = "a boot needs more than that: allocations beyond the commit limit fail, so fork and exec fail, sshd and login cannot start a session, and services fail to start"
		case low:
			v.bad, v.severity = true, checks.Warning
			v.impact = "allocations beyond the commit limit fail; only the swap partitions, whose size rescue cannot see, may leave enough for a boot"
		case kbytes == 0 && ratio < 50:
			v.bad, v.severity = true, checks.Warning
			v.impact = "allocations beyond the commit limit fail: larger services (databases, Java) fail to start or crash under load"
		default:
			return verdict{}
		}
		v.message = fmt.Sprintf("vm.overcommit_memory = 2 (strict) with %s", ratioNote)
		if sum != "" {
			v.message += ": the commit limit is " + sum
		} else {
			v.message += " (give --memory for the commit limit)"
		}
		return v
	})
}

// swap returns the swap /etc/fstab turns on whose size can be read (swap
// files in the target), a description, and whether some swap's size is
// unknown (partitions).
func (c *checker) swap() (int64, string, bool) {
	tab, _ := c.pass.Facts.Fstab()
	if tab == nil {
		return 0, "no swap", false
	}
	var total int64
	var parts []string
	unknown := false
	for _, l := range tab.Entries() {
		e := l.Entry
		if e.VfsType != "swap" || strings.Contains(","+e.Options+",", ",noauto,") {
			continue
		}
		if strings.HasPrefix(e.Spec, "/") && !strings.HasPrefix(e.Spec, "/dev/") {
			fi, err := c.pass.Root.Stat(e.Spec)
			if err != nil || !fi.Mode().IsRegular() {
				parts = append(parts, fmt.Sprintf("no swap from %s (missing)", e.Spec))
				continue
			}
			total += fi.Size()
			parts = append(parts, fmt.Sprintf("%s swap (%s)", size(fi.Size()), e.Spec))
			continue
		}
		unknown = true
		parts = append(parts, fmt.Sprintf("swap on %s (size unknown)", e.Spec))
	}
	if len(parts) == 0 {
		return 0, "no swap", false
	}
	return total, strings.Join(parts, " + "), unknown
}

func (c *checker) panicOnOOM() {
	c.judge("vm.panic_on_oom", func(val string) verdict {
		n, ok := parseInt(val)
		if !ok || n == 0 {
			return verdict{}
		}
		return verdict{
			bad: true, severity: checks.Warning, why: "panics instead of killing one process",
			message: fmt.Sprintf("vm.panic_on_oom = %d: running out of memory panics the kernel", n),
			impact:  "one runaway process takes the whole machine down (it hangs at the panic, or reboots in a loop when kernel.panic is set) instead of being OOM-killed",
		}
	})
}

func (c *checker) pidMax() {
	c.judge("kernel.pid_max", func(val string) verdict {
		n, ok := parseInt(val)
		if !ok || n <= 0 || n >= 4096 {
			return verdict{}
		}
		v := verdict{
			bad: true, severity: checks.Warning, why: "too few process ids",
			message: fmt.Sprintf("kernel.pid_max = %d allows only %d processes and threads in all (the default is 32768)", n, n),
			impact:  "fork and thread creation fail with \"Resource temporarily unavailable\" once that many tasks exist",
		}
		if n < 1024 {
			v.severity = checks.Error
			v.impact = "fork fails with \"Resource temporarily unavailable\" as soon as the system has a few hundred tasks: services fail to start and sshd and login cannot start a session"
		}
		return v
	})
}

func (c *checker) twRecycle() {
	kv, kernel := newestKernel(c.pass.Root)
	c.judge("net.ipv4.tcp_tw_recycle", func(val string) verdict {
		n, _ := parseInt(val)
		switch {
		case kv >= 412:
			return verdict{
				bad: true, severity: checks.Info, why: "removed in Linux 4.12",
				message: fmt.Sprintf("net.ipv4.tcp_tw_recycle no longer exists in Linux 4.12 and later (the newest installed kernel is %s)", kernel),
				impact:  "systemd-sysctl reports a failure for the key at every boot; nothing else changes",
				fix:     "Comment out net.ipv4.tcp_tw_recycle, which this kernel no longer has",
			}
		case n != 0:
			v := verdict{
				bad: true, severity: checks.Warning, why: "breaks clients behind NAT",
				message: "net.ipv4.tcp_tw_recycle = 1",
				impact:  "with TCP timestamps on (the default) the kernel drops connections from clients that share a NAT address: SSH from an office or a cloud NAT gateway times out at random",
			}
			if kv == 0 {
				v.message += " (no installed kernel found to tell whether the key still exists)"
			}
			return v
		}
		return verdict{}
	})
}

// newestKernel returns the newest kernel version installed in the target as
// major*100+minor ("4.12" is 412), and its name, judged from /lib/modules
// and /boot/vmlinuz-*. It is 0 when there is none.
func newestKernel(root *sysroot.Root) (int, string) {
	var names []string
	for _, dir := range []string{"/lib/modules", "/usr/lib/modules"} {
		entries, err := root.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			names = append(names, e.Name())
		}
	}
	if entries, err := root.ReadDir("/boot"); err == nil {
		for _, e := range entries {
			if v, ok := strings.CutPrefix(e.Name(), "vmlinuz-"); ok {
				names = append(names, v)
			}
		}
	}
	best, bestName := 0, ""
	slices.Sort(names)
	for _, n := range names {
		major, rest, ok := strings.Cut(n, ".")
		if !ok {
			continue
		}
		minor := rest
		if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			minor = rest[:i]
		}
		a, err1 := strconv.Atoi(major)
		b, err2 := strconv.Atoi(minor)
		if err1 != nil || err2 != nil || b > 99 {
			continue
		}
		if v := a*100 + b; v > best {
			best, bestName = v, n
		}
	}
	return best, bestName
}
