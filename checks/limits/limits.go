package limits

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/facts"
	"rescue/parse/limitsconf"
	"rescue/parse/sysctlconf"
	"rescue/parse/unitfile"
)

// Check is the limits check.
var Check = &checks.Check{
	Name:     "limits",
	Doc:      doc,
	Requires: []facts.Fact{facts.OSRelease, facts.Packages, facts.PAMStacks},
	Kinds:    []string{"nofile-above-nr-open", "nofile-unlimited", "default-limit-nofile", "unit-limit-nofile"},
	Reads:    []string{"/etc/security/limits.conf", "/etc/security/limits.d/*", "/etc/systemd/system.conf", "/etc/systemd/system.conf.d/*", "/usr/lib/systemd/system.conf.d/*", "/etc/systemd/system/*", "/usr/lib/systemd/system/*", "/lib/systemd/system/*"},
	Run:      run,
}

const (
	limitsConf = "/etc/security/limits.conf"
	limitsDir  = "/etc/security/limits.d"
	systemConf = "/etc/systemd/system.conf"
)

var systemConfDirs = []string{
	"/etc/systemd/system.conf.d", "/run/systemd/system.conf.d",
	"/usr/local/lib/systemd/system.conf.d", "/usr/lib/systemd/system.conf.d",
}

func run(pass *checks.Pass) error {
	db, _ := pass.Facts.Packages()
	sys := readSystem(pass.Root, pass.Facts.OS(), db, sysctlconf.Load(pass.Root))
	c := &checker{pass: pass, sys: sys}
	c.pamLimits()
	c.systemdDefault()
	c.units()
	return nil
}

type checker struct {
	pass *checks.Pass
	sys  *system
}

// severity grades a limit the running system cannot apply: on systemd 240
// and later (which raises fs.nr_open, and where such limits were measured
// not to stop a login) it is a warning; before, the session is refused.
func (c *checker) severity() checks.Severity {
	if c.sys.modern() {
		return checks.Warning
	}
	return checks.Error
}

func (c *checker) ceiling() string {
	return fmt.Sprintf("fs.nr_open (%d, %s)", c.sys.nrOpen, c.sys.nrOpenSource)
}

// limitFiles returns limits.conf and then limits.d/*.conf in the order
// pam_limits reads them.
func (c *checker) limitFiles() []string {
	files := []string{limitsConf}
	entries, err := c.pass.Root.ReadDir(limitsDir)
	if err != nil {
		return files
	}
	for _, e := range entries { // ReadDir sorts by name, as glob(3) does
		if strings.HasSuffix(e.Name(), ".conf") && !e.IsDir() {
			files = append(files, limitsDir+"/"+e.Name())
		}
	}
	return files
}

type located struct {
	limitsconf.Entry
	path string
	data []byte
}

func (c *checker) pamLimits() {
	var all []located
	for _, p := range c.limitFiles() {
		data, err := c.pass.Root.ReadFile(p)
		if err != nil {
			continue
		}
		f := limitsconf.Parse(p, data)
		for _, e := range f.Entries {
			if e.Item == "nofile" {
				all = append(all, located{Entry: e, path: p, data: data})
			}
		}
	}
	used, usedBy := usesPAMLimits(c.pass.Facts.PAMStacks())
	for i, e := range all {
		if !e.Hard() || overridden(all[i+1:], e.Domain) {
			continue
		}
		value, tooHigh := c.effective(e.Entry)
		if !tooHigh {
			continue
		}
		f := checks.Finding{
			Kind: "nofile-above-nr-open", Subject: strconv.Itoa(e.Line), Severity: c.severity(),
			Path: e.path, Line: e.Line,
			Evidence: []string{fmt.Sprintf("%s:%d: %s", e.path, e.Line, strings.TrimRight(e.Raw, "\r")), c.sys.evidence()},
		}
		who := "user " + e.Domain
		switch {
		case e.Domain == "*":
			who = "every user"
		case strings.HasPrefix(e.Domain, "@"):
			who = "the members of group " + e.Domain[1:]
		case strings.Contains(e.Domain, ":"):
			who = "the uids " + e.Domain
		}
		if e.Unlimited() {
			f.Kind = "nofile-unlimited"
			f.Message = fmt.Sprintf("the hard nofile limit of %s is %q (RLIM_INFINITY), which is above %s", who, e.Value, c.ceiling())
		} else {
			f.Message = fmt.Sprintf("the hard nofile limit of %s is %s, above %s", who, value, c.ceiling())
		}
		if c.sys.modern() {
			f.Impact = fmt.Sprintf("setrlimit fails for the sessions of %s, so pam_limits reports an error and the limit is not applied as written; on %s this did not stop a console login in our test, but an older PAM stack refuses the session", who, c.sys.describe())
		} else {
			f.Impact = fmt.Sprintf("the kernel refuses the limit, pam_limits returns PAM_PERM_DENIED and the session is refused: %s cannot log in, over SSH or on the console", who)
		}
		if !used {
			f.Severity = checks.Info
			f.Impact = "no PAM service's session stack loads pam_limits, so the limit is not applied at all today; it would lock " + who + " out once pam_limits is enabled"
		} else if usedBy != "" {
			f.Evidence = append(f.Evidence, "pam_limits is loaded by "+usedBy)
		}
		capped := strconv.FormatInt(c.sys.nrOpen, 10)
		f.AddFix(checks.ReplaceLine(c.pass.Root, e.path, e.data, e.Line, e.WithValue(capped),
			fmt.Sprintf("Cap the nofile limit of %s at fs.nr_open (%s)", who, capped)))
		c.pass.Report(f)
	}
}

// overridden reports whether a later entry sets the hard nofile limit of
// the same domain again (the later one counts; it is judged on its own).
func overridden(later []located, domain string) bool {
	for _, l := range later {
		if l.Domain == domain && l.Hard() {
			return true
		}
	}
	return false
}

// effective returns the value pam_limits will ask the kernel for, and
// whether it is above fs.nr_open.
func (c *checker) effective(e limitsconf.Entry) (string, bool) {
	if e.Unlimited() {
		// Linux-PAM 1.5.2 and later ask for fs.nr_open instead.
		return "unlimited", !c.sys.pamUnlimitedOK
	}
	n, ok := leadingUint(e.Value)
	if !ok {
		return e.Value, false // pam_limits skips a value it cannot read
	}
	return strconv.FormatUint(n, 10), n > uint64(c.sys.nrOpen)
}

// leadingUint reads the leading decimal digits of s as strtoull does;
// values beyond uint64 saturate.
func leadingUint(s string) (uint64, bool) {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(s[:end], 10, 64)
	if err != nil {
		return math.MaxUint64, true
	}
	return n, true
}

// systemdDefault checks DefaultLimitNOFILE in system.conf and its
// drop-ins; the last assignment in the [Manager] section wins.
func (c *checker) systemdDefault() {
	if c.sys.systemd == 0 {
		return
	}
	type assignment struct {
		path  string
		line  int
		key   string // the text up to the value, '=' included, as written
		value string
		data  []byte
	}
	var last *assignment
	for _, p := range append([]string{systemConf}, unitfile.ConfFiles(c.pass.Root, systemConfDirs).Files...) {
		data, err := c.pass.Root.ReadFile(p)
		if err != nil {
			continue
		}
		section := ""
		lines, _ := checks.Lines(data)
		for i, raw := range lines {
			line := strings.TrimSpace(strings.TrimRight(raw, "\r"))
			if line == "" || line[0] == '#' || line[0] == ';' {
				continue
			}
			if strings.HasPrefix(line, "[") {
				section = strings.Trim(line, "[]")
				continue
			}
			k, v, ok := strings.Cut(raw, "=")
			if ok && section == "Manager" && strings.TrimSpace(k) == "DefaultLimitNOFILE" {
				ws := v[:len(v)-len(strings.TrimLeft(v, " \t"))]
				last = &assignment{path: p, line: i + 1, key: k + "=" + ws, value: strings.TrimSpace(strings.TrimRight(v, "\r")), data: data}
			}
		}
	}
	if last == nil {
		return
	}
	soft, hard, _ := strings.Cut(last.value, ":")
	if hard == "" {
		hard = soft
	}
	m := uint64(c.sys.nrOpen)
	over := func(v string) bool {
		n, _, ok := c.nofileValue(v)
		return ok && n > m
	}
	if !over(hard) {
		return
	}
	h, how, _ := c.nofileValue(hard)
	arith := fmt.Sprintf("%d > %d", h, m)
	if how != "" {
		arith = fmt.Sprintf("%d (%s) > %d", h, how, m)
	}
	capped := strconv.FormatInt(c.sys.nrOpen, 10)
	newValue := capped
	if soft != hard && !over(soft) {
		newValue = strings.TrimSpace(soft) + ":" + capped
	}
	// The services that inherit the default get it the way a unit's own
	// LimitNOFILE= is applied (units): the kernel refuses it, systemd
	// falls back to PID 1's hard limit, and only when that is above
	// fs.nr_open too do they fail, sshd and the gettys among them.
	fb := c.sys.fallbackHard()
	s, _, sok := c.nofileValue(soft)
	if !sok {
		s = h
	}
	got, fails := c.sys.nofileOutcome(s, h, m)
	f := checks.Finding{
		Kind: "default-limit-nofile", Severity: checks.Warning, Path: last.path, Line: last.line,
		Message:  fmt.Sprintf("systemd's DefaultLimitNOFILE=%s is above %s: %s", last.value, c.ceiling(), arith),
		Impact:   fmt.Sprintf("the kernel refuses it; systemd falls back to its own limit (%d on %s), so the services that inherit the default start with %d open files, not what is written", fb, c.sys.describe(), got),
		Evidence: []string{fmt.Sprintf("%s:%d: DefaultLimitNOFILE=%s", last.path, last.line, last.value), c.sys.evidence()},
	}
	if fails {
		f.Severity = checks.Error
		f.Impact = fmt.Sprintf("the kernel refuses a hard open-file limit above fs.nr_open, and systemd's fallback, its own hard limit (%d on %s), is above it too: every service that inherits the default fails to start (status 205/LIMITS), sshd and the gettys included, so nobody logs in", fb, c.sys.describe())
	}
	f.AddFix(checks.ReplaceLine(c.pass.Root, last.path, last.data, last.line, last.key+newValue,
		fmt.Sprintf("Cap DefaultLimitNOFILE at fs.nr_open (%s)", capped)))
	c.pass.Report(f)
}
