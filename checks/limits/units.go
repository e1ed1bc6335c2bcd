package limits

import (
	"fmt"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/parse/unitfile"
	"rescue/repair"
)

// unitDirs are where systemd looks for system units, first wins.
var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

// loginUnits are the services without which nobody logs in: when one of
// them cannot start, the finding is an error.
var loginUnits = []string{"sshd.service", "ssh.service", "systemd-logind.service", "dbus.service", "dbus-broker.service", "getty@", "serial-getty@", "console-getty.service"}

func isLoginUnit(name string) bool {
	for _, u := range loginUnits {
		if name == u || strings.HasSuffix(u, "@") && strings.HasPrefix(name, u) {
			return true
		}
	}
	return false
}

// rlimInfinity is RLIM_INFINITY, what systemd before 234 asks the kernel
// for on "infinity".
const rlimInfinity = math.MaxUint64

// unitsToJudge returns the services that start at boot (named in a .wants
// directory of /etc/systemd/system), the units written in
// /etc/systemd/system, and the login services, sorted.
func (c *checker) unitsToJudge() []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if strings.HasSuffix(n, ".service") && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	wants, _ := c.pass.Root.Glob("/etc/systemd/system/*.wants/*.service")
	for _, w := range wants {
		add(path.Base(w))
	}
	own, _ := c.pass.Root.Glob("/etc/systemd/system/*.service")
	for _, o := range own {
		add(path.Base(o))
	}
	for _, u := range loginUnits {
		if !strings.HasSuffix(u, "@") {
			add(u)
		}
	}
	slices.Sort(out)
	return out
}

// template returns the template of an instance ("getty@.service" for
// "getty@tty1.service"), "" for a unit that is not an instance.
func template(name string) string {
	at := strings.IndexByte(name, '@')
	if at < 0 || strings.HasPrefix(name[at:], "@.") {
		return ""
	}
	return name[:at+1] + path.Ext(name)
}

// unitFile returns the file systemd loads for name: the first found in
// unitDirs, the instance's own name before its template's; "" when the unit
// is missing or masked.
func (c *checker) unitFile(name string) string {
	names := []string{name}
	if t := template(name); t != "" {
		names = append(names, t)
	}
	for _, n := range names {
		for _, d := range unitDirs {
			p := path.Join(d, n)
			if t, err := c.pass.Root.Readlink(p); err == nil && t == "/dev/null" {
				return ""
			}
			if c.pass.Root.Exists(p) {
				return p
			}
		}
	}
	return ""
}

// limitAssignment is the LimitNOFILE= that decides for a unit.
type limitAssignment struct {
	path  string
	line  int
	key   string // the text up to the value, as written
	value string
	data  []byte
}

// unitLimit returns the last LimitNOFILE= of [Service] in the unit file and
// its drop-ins (the template's first, then the instance's, each in name
// order), nil when none sets it (or the last one resets it).
func (c *checker) unitLimit(name, file string) *limitAssignment {
	files := []string{file}
	var dirs []string
	if t := template(name); t != "" {
		for _, d := range unitDirs {
			dirs = append(dirs, path.Join(d, t+".d"))
		}
	}
	for _, d := range unitDirs {
		dirs = append(dirs, path.Join(d, name+".d"))
	}
	files = append(files, unitfile.ConfFiles(c.pass.Root, dirs).Files...)
	var last *limitAssignment
	for _, p := range files {
		data, err := c.pass.Root.ReadFileLimit(p, 1<<20)
		if err != nil {
			continue
		}
		lines, _ := checks.Lines(data)
		for _, d := range unitfile.Parse(data).Get("Service", "LimitNOFILE") {
			if d.First != d.Last || d.First < 1 || d.First > len(lines) {
				continue // continued over lines: rare, and not edited here
			}
			raw := lines[d.First-1]
			k, v, ok := strings.Cut(raw, "=")
			if !ok {
				continue
			}
			ws := v[:len(v)-len(strings.TrimLeft(v, " \t"))]
			last = &limitAssignment{path: p, line: d.First, key: k + "=" + ws, value: strings.TrimSpace(d.Value), data: data}
		}
	}
	if last == nil || last.value == "" {
		return nil
	}
	return last
}

// nofileValue reads one side of LimitNOFILE= as the number systemd asks the
// kernel for, and says how it got it.
func (c *checker) nofileValue(v string) (uint64, string, bool) {
	v = strings.TrimSpace(v)
	if v == "infinity" {
		switch {
		case c.sys.systemd >= 240:
			// Read as fs.nr_open when the unit is loaded, which is
			// before systemd-sysctl runs: systemd's own raised value.
			return systemdNrOpen, fmt.Sprintf("%s reads infinity as fs.nr_open when it loads units, %d after raising it", c.sys.describe(), systemdNrOpen), true
		case c.sys.systemd >= 234:
			return kernelNrOpen, fmt.Sprintf("%s reads infinity as fs.nr_open when it loads units, %d before sysctl settings apply", c.sys.describe(), kernelNrOpen), true
		}
		return rlimInfinity, fmt.Sprintf("%s asks for RLIM_INFINITY (%d)", c.sys.describe(), uint64(rlimInfinity)), true
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return n, "", true
}

// units checks LimitNOFILE= of the services that start at boot against
// fs.nr_open. The kernel refuses a hard RLIMIT_NOFILE above fs.nr_open;
// systemd then asks for the closest it may, its own hard limit
// (setrlimit_closest). systemd 240 and later raise their own to 1073741816
// before the target's sysctl settings lower fs.nr_open: when the target
// sets fs.nr_open below what the unit asks for, that fallback is refused
// too and the service fails to start (status 205/LIMITS). Otherwise the
// service starts with a lower limit than written.
func (c *checker) units() {
	if c.sys.systemd == 0 {
		return
	}
	m := uint64(c.sys.nrOpen)
	for _, name := range c.unitsToJudge() {
		file := c.unitFile(name)
		if file == "" {
			continue
		}
		a := c.unitLimit(name, file)
		if a == nil {
			continue
		}
		soft, hard, two := strings.Cut(a.value, ":")
		if !two {
			hard = soft
		}
		h, how, ok := c.nofileValue(hard)
		if !ok || h <= m {
			continue
		}
		s, _, sok := c.nofileValue(soft)
		arith := fmt.Sprintf("%d > %d", h, m)
		if how != "" {
			arith = fmt.Sprintf("%d (%s) > %d", h, how, m)
		}
		f := checks.Finding{
			Kind: "unit-limit-nofile", Subject: name, Severity: checks.Warning, Path: a.path, Line: a.line,
			Message:  fmt.Sprintf("LimitNOFILE=%s of %s is above %s: %s", a.value, name, c.ceiling(), arith),
			Evidence: []string{fmt.Sprintf("%s:%d: %s", a.path, a.line, strings.TrimSpace(string(lineOf(a.data, a.line)))), c.sys.evidence()},
		}
		if !sok {
			s = h
		}
		_, fails := c.sys.nofileOutcome(s, h, m)
		switch {
		case !fails && c.sys.modern():
			f.Impact = fmt.Sprintf("the kernel refuses a hard open-file limit above fs.nr_open; systemd falls back to the closest it may (setrlimit_closest) and %s starts, without the limit written (measured on Debian 12: ssh.service with LimitNOFILE=infinity or 2000000 above fs.nr_open = 1048576 ran and took logins)", name)
		case fails:
			f.Impact = fmt.Sprintf("the kernel refuses a hard open-file limit above fs.nr_open, and systemd's fallback, its own hard limit (%d, raised by %s at boot before the fs.nr_open = %d %s applies), is above it too: %s fails to start (status 205/LIMITS)", systemdNrOpen, c.sys.describe(), m, c.sys.nrOpenSource, name)
			if isLoginUnit(name) {
				f.Severity = checks.Error
				f.Impact += ", and without it nobody logs in"
			}
		case c.sys.modern():
			f.Impact = fmt.Sprintf("the kernel refuses it; systemd falls back to its own hard limit, %d, so %s starts with fewer open files than written", systemdNrOpen, name)
		default:
			f.Impact = fmt.Sprintf("the kernel refuses it; systemd falls back to its own hard limit (PID 1's, far lower on %s unless raised), so %s starts with fewer open files than written", c.sys.describe(), name)
		}
		capped := strconv.FormatUint(m, 10)
		value := capped
		if two && sok && s <= m {
			value = strings.TrimSpace(soft) + ":" + capped
		}
		msg := fmt.Sprintf("Cap LimitNOFILE of %s at fs.nr_open (%s)", name, capped)
		if strings.HasPrefix(a.path, "/etc/") && !c.isLink(a.path) {
			f.AddFix(checks.ReplaceLine(c.pass.Root, a.path, a.data, a.line, a.key+value, msg))
		} else {
			f.AddFix(c.dropIn(name, "[Service]\nLimitNOFILE="+value+"\n", msg+" in a drop-in of /etc/systemd/system (the unit file is the package's)"))
		}
		c.pass.Report(f)
	}
}

func (c *checker) isLink(p string) bool {
	_, err := c.pass.Root.Readlink(p)
	return err == nil
}

// dropInName sorts after every usual drop-in name ("override.conf",
// "10-foo.conf"), so that it is the last assignment read.
const dropInName = "zz-rescue-limitnofile.conf"

// dropIn plans /etc/systemd/system/NAME.d/zz-rescue-limitnofile.conf.
func (c *checker) dropIn(name, content, msg string) (repair.Fix, error) {
	dir := path.Join("/etc/systemd/system", name+".d")
	b := repair.NewFix(msg)
	if !c.pass.Root.Exists(dir) {
		mk, err := repair.Mkdir(c.pass.Root, dir, 0o755)
		if err != nil {
			return repair.Fix{}, err
		}
		mode := repair.Mode(0o644)
		return b.Add(mk, nil).Add(repair.Op{Kind: repair.KindWrite, Path: path.Join(mk.Path, dropInName),
			Expect: repair.State{Type: repair.Absent}, Data: []byte(content), Mode: &mode, Owner: &repair.Owner{}}, nil).Build()
	}
	return b.Add(repair.CreateFile(c.pass.Root, path.Join(dir, dropInName), []byte(content), 0o644, 0, 0)).Build()
}

func lineOf(data []byte, n int) string {
	lines, _ := checks.Lines(data)
	if n < 1 || n > len(lines) {
		return ""
	}
	return lines[n-1]
}
