package sshd

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/checks/internal/restore"
	"rescue/facts"
	"rescue/facts/pamstack"
	"rescue/parse/osrelease"
	"rescue/parse/sshdconfig"
)

// Check is the sshd check.
var Check = &checks.Check{
	Name:     "sshd",
	Doc:      doc,
	Requires: []facts.Fact{facts.OSRelease, facts.Accounts, facts.PAMStacks, facts.Packages},
	Kinds:    []string{"config-missing", "config-unreadable", "include-problem", "include-cycle", "include-too-large", "bad-line", "no-user-allowed", "login-grace-time", "pam-service-missing", "pam-include-missing", "pam-service-empty", "host-key-mode", "no-host-keys", "strict-modes", "privsep-dir"},
	Reads:    []string{"/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/*", "/etc/ssh"},
	Run:      run,
}

const configPath = "/etc/ssh/sshd_config"

var sshdBinaries = []string{"/usr/sbin/sshd", "/usr/bin/sshd", "/sbin/sshd"}

func run(pass *checks.Pass) error {
	c := &checker{pass: pass, os: pass.Facts.OS(), files: map[string][]byte{}}
	binary := ""
	for _, p := range sshdBinaries {
		if pass.Root.Exists(p) {
			binary = p
			break
		}
	}
	hasConfig := pass.Root.Exists(configPath)
	if binary == "" && !hasConfig {
		return nil // no SSH server on this system
	}
	if binary != "" {
		c.version, c.versionText = sshdVersion(pass, binary)
	}
	if !hasConfig {
		f := checks.Finding{
			Kind: "config-missing", Severity: checks.Error, Path: configPath,
			Message: fmt.Sprintf("%s is missing while %s is installed", configPath, binary),
			Impact:  "sshd exits at start (\"No such file or directory\"): no one can log in over SSH",
		}
		f.AddFix(restore.Fix(pass, configPath))
		if len(f.Fixes) == 0 {
			f.NoFix = "restore it from the openssh-server package (rescue restores package files once a package database and package file are at hand)"
		}
		pass.Report(f)
		return nil
	}
	cfg, err := sshdconfig.Load(pass.Root, configPath, c.version == 0 || c.version >= 802)
	if err != nil {
		// It is there (Exists said so) but cannot be read: a damaged
		// filesystem (EFSCORRUPTED), an I/O error, a FIFO.
		pass.Report(checks.Finding{
			Kind: "config-unreadable", Severity: checks.Error, Path: configPath,
			Message: fmt.Sprintf("%s cannot be read: %v", configPath, errors.Unwrap(err)),
			Impact:  "sshd cannot read it either and exits at start: no one can log in over SSH",
			NoFix:   "when the filesystem is damaged, repair it first (rescue fix DEVICE --allow-fsck, or fsck), then scan again; otherwise restore the file by hand",
		})
		return nil
	}
	c.cfg = cfg
	if c.version == 0 && binary != "" {
		pass.Note("could not read OpenSSH's version from %s: keywords were checked against the newest OpenSSH", binary)
	}
	c.syntax()
	c.loadAccounts()
	c.access()
	c.graceTime()
	c.pam()
	c.hostKeys()
	c.strictModes()
	c.privsep()
	return nil
}

type checker struct {
	pass        *checks.Pass
	os          osrelease.Info
	cfg         *sshdconfig.Config
	version     int // major*100+minor, 0 when unknown
	versionText string
	files       map[string][]byte

	users  []account // the accounts that can log in at all
	groups []group
}

var versionRE = regexp.MustCompile(`OpenSSH_([0-9]+)\.([0-9]+)`)

// sshdVersion reads the version string compiled into sshd (SSH_VERSION,
// "OpenSSH_8.7"), without running it.
func sshdVersion(pass *checks.Pass, binary string) (int, string) {
	data, err := pass.Root.ReadFileLimit(binary, 64<<20)
	if err != nil {
		return 0, ""
	}
	m := versionRE.FindSubmatch(data)
	if m == nil {
		return 0, ""
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	if minor > 99 {
		return 0, ""
	}
	return major*100 + minor, fmt.Sprintf("OpenSSH %d.%d (%s)", major, minor, binary)
}

func (c *checker) read(p string) []byte {
	if data, ok := c.files[p]; ok {
		return data
	}
	data, err := c.pass.Root.ReadFile(p)
	if err != nil {
		return nil
	}
	c.files[p] = data
	return data
}

// policyKeys decide who may log in and how: a bad line of one of these is
// reported, not commented out, because dropping it changes the policy.
var policyKeys = map[string]bool{
	"permitrootlogin": true, "passwordauthentication": true, "pubkeyauthentication": true,
	"permitemptypasswords": true, "allowusers": true, "denyusers": true, "allowgroups": true,
	"denygroups": true, "authenticationmethods": true, "kbdinteractiveauthentication": true,
	"challengeresponseauthentication": true, "hostbasedauthentication": true, "ignorerhosts": true,
	"strictmodes": true, "usepam": true, "authorizedkeysfile": true, "authorizedkeyscommand": true,
	"authorizedkeyscommanduser": true, "trustedusercakeys": true, "revokedkeys": true,
	"forcecommand": true, "chrootdirectory": true, "authorizedprincipalsfile": true,
	"authorizedprincipalscommand": true, "permitopen": true, "permitlisten": true, "allowtcpforwarding": true,
	"match": true, "include": true,
}

// syntax reports every line sshd -t would refuse.
func (c *checker) syntax() {
	for _, p := range c.cfg.Problems {
		f := checks.Finding{
			Kind: "include-problem", Subject: p.Path, Severity: checks.Error, Path: p.Path,
			Message: fmt.Sprintf("%s: %s", p.Path, p.Message),
			Impact:  "sshd exits while reading its configuration: no one can log in over SSH",
			NoFix:   "the include structure needs a decision by hand",
		}
		if d := p.Directive; d != nil {
			f.Path, f.Line = d.Path, d.Line
			f.Evidence = []string{strings.TrimRight(d.Raw, "\r")}
		}
		switch p.Kind {
		case sshdconfig.ProblemCycle:
			d := p.Directive
			f.Kind, f.Subject = "include-cycle", strconv.Itoa(d.Line)
			f.Message = fmt.Sprintf("%s line %d %s", d.Path, d.Line, p.Message)
			if len(d.Args) == 1 && !strings.ContainsAny(d.Args[0], "*?[") {
				// The file this line includes is already being read
				// further out: dropping the line keeps its settings and
				// ends the loop.
				f.NoFix = ""
				f.AddFix(checks.CommentOut(c.pass.Root, d.Path, c.read(d.Path), d.Line, "includes itself",
					fmt.Sprintf("Comment out %s line %d, which includes %s again", d.Path, d.Line, p.Path)))
			} else {
				f.NoFix = "the Include names several files or a glob; which of them should stay needs a decision by hand"
			}
		case sshdconfig.ProblemTooLarge:
			f.Kind, f.Severity = "include-too-large", checks.Warning
			f.Impact = "sshd reads every one of those files at each start: it starts very slowly or runs out of memory, and settings past the part rescue read were not checked"
		}
		c.pass.Report(f)
	}
	for _, d := range c.cfg.Directives {
		problem, why := c.lineProblem(d)
		if problem == "" {
			continue
		}
		f := checks.Finding{
			Kind: "bad-line", Subject: strconv.Itoa(d.Line), Severity: checks.Error, Path: d.Path, Line: d.Line,
			Message:  fmt.Sprintf("%s: %s", d.Where(), problem),
			Impact:   "sshd -t fails and sshd exits at start (\"terminating, bad configuration options\"): no one can log in over SSH",
			Evidence: []string{strings.TrimRight(d.Raw, "\r")},
		}
		if c.versionText != "" {
			f.Evidence = append(f.Evidence, c.versionText)
		}
		switch {
		case d.Key == "include":
			f.NoFix = "commenting out the Include would drop the settings of the included files; move them into sshd_config by hand"
		case policyKeys[d.Key]:
			c.safeFixes(&f, d)
		default:
			data := c.read(d.Path)
			f.AddFix(checks.CommentOut(c.pass.Root, d.Path, data, d.Line, why,
				fmt.Sprintf("Comment out %s line %d (%s), which sshd refuses", d.Path, d.Line, d.Keyword)))
		}
		c.pass.Report(f)
	}
}

// lineProblem returns what sshd says about a line ("" when it accepts it)
// and a short reason for the marker.
func (c *checker) lineProblem(d *sshdconfig.Directive) (string, string) {
	k, known := keywords[d.Key]
	switch {
	case !known:
		return fmt.Sprintf("Bad configuration option: %s", d.Keyword), "unknown keyword"
	case k.since > 0 && c.version > 0 && c.version < k.since:
		return fmt.Sprintf("Bad configuration option: %s (it needs OpenSSH %s; this sshd is %s)", d.Keyword, version(k.since), version(c.version)),
			"needs OpenSSH " + version(k.since)
	case d.Err != "":
		return d.Err, d.Err
	case len(d.Args) == 0:
		return fmt.Sprintf("no argument after keyword %q", d.Keyword), "no value"
	case d.InMatch() && k.scope&inMatch == 0:
		return fmt.Sprintf("Directive '%s' is not allowed within a Match block", d.Keyword), "not allowed in a Match block"
	}
	if k.handling != normal {
		return "", ""
	}
	arg := d.Args[0]
	single := func() (string, string) {
		if len(d.Args) > 1 {
			return fmt.Sprintf("garbage at end of line (extra argument %q)", d.Args[1]), "extra arguments"
		}
		return "", ""
	}
	switch k.arg {
	case argFlag:
		if !strings.EqualFold(arg, "yes") && !strings.EqualFold(arg, "no") {
			return fmt.Sprintf("unsupported option %q (yes or no)", arg), "not yes or no"
		}
		return single()
	case argChoice:
		ok := false
		for _, ch := range k.choices {
			if strings.EqualFold(arg, ch) {
				ok = true
			}
		}
		if d.Key == "permitrootlogin" && strings.EqualFold(arg, "prohibit-password") && c.version > 0 && c.version < 700 {
			ok = false
		}
		if !ok {
			return fmt.Sprintf("unsupported option %q (one of %s)", arg, strings.Join(k.choices, ", ")), "invalid value"
		}
		return single()
	case argTime:
		if convtime(arg) < 0 {
			return fmt.Sprintf("invalid time value %q", arg), "invalid time"
		}
		return single()
	case argInt:
		if _, err := strconv.Atoi(arg); err != nil {
			return fmt.Sprintf("%s integer value invalid: %q", d.Keyword, arg), "invalid number"
		}
		return single()
	case argPort:
		if n, err := strconv.Atoi(arg); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("Badly formatted port number %q", arg), "invalid port"
		}
		return single()
	case argSingle:
		return single()
	case argMatch:
		return matchProblem(d.Args)
	}
	return "", ""
}

// matchProblem checks Match criteria: "All" alone, or pairs of a criterion
// and its value.
func matchProblem(args []string) (string, string) {
	if len(args) == 1 && strings.EqualFold(args[0], "all") {
		return "", ""
	}
	for i := 0; i < len(args); i++ {
		crit := strings.ToLower(args[i])
		if !matchCriteria[crit] {
			return fmt.Sprintf("Bad Match condition: unsupported criterion %q", args[i]), "bad Match condition"
		}
		if crit == "all" || crit == "invalid-user" {
			continue
		}
		if i+1 >= len(args) {
			return fmt.Sprintf("Bad Match condition: missing value for %q", args[i]), "bad Match condition"
		}
		i++
	}
	return "", ""
}

// loadAccounts reads the accounts that can log in at all: root and the
// regular users (uid at or above UID_MIN) whose shell exists and is not a
// no-login shell.
func (c *checker) loadAccounts() {
	accounts := c.pass.Facts.Accounts()
	c.groups = groupsFrom(accounts.Group)
	uidMin := 1000
	if c.os.Family == osrelease.RHEL && c.os.Major() > 0 && c.os.Major() <= 6 {
		uidMin = 500
	}
	for _, a := range accountsOf(accounts.Passwd) {
		if a.uid != 0 && (a.uid < uidMin || a.uid == 65534 || a.name == "nobody") {
			continue
		}
		shell := a.shell
		if shell == "" {
			shell = "/bin/sh"
		}
		if noLoginShells[shell] {
			continue
		}
		if fi, err := c.pass.Root.Stat(shell); err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
			continue
		}
		c.users = append(c.users, a)
	}
}

func (c *checker) versionOr(def int) int {
	if c.version == 0 {
		return def
	}
	return c.version
}

// access reports when the global access rules leave none of the accounts
// that can log in able to.
func (c *checker) access() {
	if len(c.users) == 0 {
		return
	}
	prl := "prohibit-password"
	if c.versionOr(1000) < 700 {
		prl = "yes"
	}
	var rules []*sshdconfig.Directive
	if d := c.cfg.First("permitrootlogin"); d != nil && len(d.Args) > 0 {
		prl = strings.ToLower(d.Args[0])
		rules = append(rules, d)
	}
	lists := map[string][]string{}
	for _, key := range []string{"denyusers", "allowusers", "denygroups", "allowgroups"} {
		for _, d := range c.cfg.Global(key) {
			lists[key] = append(lists[key], d.Args...)
			rules = append(rules, d)
		}
	}
	var allowed []string
	var reasons []string
	for _, u := range c.users {
		why := c.refused(u, prl, lists)
		if why == "" {
			allowed = append(allowed, u.name)
			continue
		}
		reasons = append(reasons, u.name+": "+why)
	}
	if len(allowed) > 0 || len(rules) == 0 {
		return
	}
	first := rules[0]
	for _, r := range rules {
		if r.Path == first.Path && r.Line < first.Line {
			first = r
		}
	}
	f := checks.Finding{
		Kind: "no-user-allowed", Severity: checks.Error, Path: first.Path, Line: first.Line,
		Message:  "sshd's access rules allow none of the accounts that can log in",
		Impact:   "every SSH login is refused (\"User x from y not allowed because ...\"); only the console is left",
		Evidence: reasons,
		NoFix:    "who may log in over SSH is policy: correct PermitRootLogin, AllowUsers, AllowGroups, DenyUsers or DenyGroups by hand",
	}
	for _, key := range []string{"permitrootlogin", "allowusers", "allowgroups", "denyusers", "denygroups"} {
		if len(c.cfg.InMatch(key)) > 0 {
			f.Severity = checks.Warning
			f.Message += " (Match blocks change these rules for some connections)"
			break
		}
	}
	for _, r := range rules {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %s", r.Where(), strings.TrimSpace(r.Raw)))
	}
	c.pass.Report(f)
}

// refused says why sshd refuses user u, or "" when it does not. Host
// parts of user@host patterns cannot be judged offline: an AllowUsers
// entry with one counts as allowing the user, a DenyUsers entry with one
// does not count as denying.
func (c *checker) refused(u account, prl string, lists map[string][]string) string {
	if u.uid == 0 && prl == "no" {
		return "PermitRootLogin no"
	}
	for _, p := range lists["denyusers"] {
		if !strings.Contains(p, "@") && matchPattern(u.name, p) {
			return "listed in DenyUsers (" + p + ")"
		}
	}
	if l := lists["allowusers"]; len(l) > 0 {
		ok := false
		for _, p := range l {
			user, _, _ := strings.Cut(p, "@")
			if matchPattern(u.name, user) {
				ok = true
			}
		}
		if !ok {
			return "not in AllowUsers"
		}
	}
	groups := groupsOf(u, c.groups)
	for _, p := range lists["denygroups"] {
		for _, g := range groups {
			if matchList(g, p) {
				return "in group " + g + ", listed in DenyGroups"
			}
		}
	}
	if l := lists["allowgroups"]; len(l) > 0 {
		for _, p := range l {
			for _, g := range groups {
				if matchList(g, p) {
					return ""
				}
			}
		}
		return "in none of the AllowGroups"
	}
	return ""
}

func (c *checker) graceTime() {
	d := c.cfg.First("logingracetime")
	if d == nil || len(d.Args) == 0 {
		return
	}
	n := convtime(d.Args[0])
	if n <= 0 || n >= 20 {
		return
	}
	f := checks.Finding{
		Kind: "login-grace-time", Severity: checks.Warning, Path: d.Path, Line: d.Line,
		Message:  fmt.Sprintf("LoginGraceTime %s leaves %d seconds to authenticate", d.Args[0], n),
		Impact:   "sshd drops connections that have not authenticated in time: typed passwords and slow links fail",
		Evidence: []string{strings.TrimSpace(d.Raw)},
		NoFix:    "LoginGraceTime is policy: raise it by hand (the default is 120 seconds)",
	}
	if n <= 5 {
		f.Severity = checks.Error
		f.Impact = "sshd drops the connection before most clients finish authenticating: SSH logins fail"
	}
	c.pass.Report(f)
}

// pam checks the PAM service sshd uses when UsePAM is yes, and the files
// its lines include, where libpam finds them (facts/pamstack: /etc/pam.d,
// then the distribution's /usr/lib/pam.d or /usr/etc/pam.d).
func (c *checker) pam() {
	d := c.cfg.First("usepam")
	if d == nil || len(d.Args) == 0 || !strings.EqualFold(d.Args[0], "yes") {
		return
	}
	service := "sshd"
	if s := c.cfg.First("pamservicename"); s != nil && len(s.Args) > 0 {
		service = s.Args[0]
	}
	pam := c.pass.Facts.PAMStacks()
	f := pam.Service(service)
	p := f.Path
	noFix := func(file string) string {
		return "the pam check restores PAM files from their package; otherwise restore " + file + " from the package that owns it"
	}
	if !f.Exists {
		c.pamServiceMissing(pam, p, d)
		return
	}
	if f.Err != nil {
		c.pass.Note("reading %s: %v", p, f.Err)
		return
	}
	for _, l := range f.Conf.Lines {
		if !l.IsInclude() {
			continue
		}
		t := pam.Service(l.Target())
		if t.Exists {
			continue
		}
		c.pass.Report(checks.Finding{
			Kind: "pam-include-missing", Subject: t.Path, Severity: checks.Error, Path: p, Line: l.N,
			Message:  fmt.Sprintf("%s includes %s, which does not exist", p, t.Path),
			Impact:   "PAM cannot build sshd's stack and refuses every SSH login",
			Evidence: []string{strings.TrimSpace(l.Raw)},
			NoFix:    noFix(t.Path),
		})
	}
	if f.Conf.Empty() {
		c.pass.Report(checks.Finding{
			Kind: "pam-service-empty", Severity: checks.Error, Path: p,
			Message: fmt.Sprintf("UsePAM is yes but %s has no rules", p),
			Impact:  "with an empty stack PAM refuses every SSH login",
			NoFix:   noFix(p),
		})
	}
}

// pamServiceMissing reports sshd's PAM service file missing. libpam then
// runs the service "other" for sshd. Where other refuses everyone (RHEL's
// pam_deny, or other missing too) every SSH login is refused. Where it
// lets logins through (Debian's other includes the common-* stacks) SSH
// logins work, measured under qemu (e2e row pam-sshd-deleted), but the
// sessions go without sshd's own rules: no pam_loginuid (the audit login
// uid stays unset), pam_nologin, pam_limits or pam_env.
func (c *checker) pamServiceMissing(pam *pamstack.Config, p string, d *sshdconfig.Directive) {
	o := pam.Service("other")
	fnd := checks.Finding{
		Kind: "pam-service-missing", Severity: checks.Warning, Path: p,
		Message:  fmt.Sprintf("UsePAM is yes but %s is missing", p),
		Impact:   fmt.Sprintf("PAM runs %s for sshd instead, which lets logins through here: SSH logins work, but without sshd's own session rules (pam_loginuid, pam_nologin, pam_limits, pam_env)", o.Path),
		Evidence: []string{fmt.Sprintf("%s: %s", d.Where(), strings.TrimSpace(d.Raw))},
	}
	if pam.OtherDenies() {
		other := o.Path + ", which refuses everyone"
		if !o.Exists {
			other = o.Path + ", which is missing too, so PAM fails"
		}
		fnd.Severity = checks.Error
		fnd.Impact = "PAM falls back to " + other + ": every SSH login is refused"
	}
	if err := restore.Add(c.pass, &fnd, p); err != nil {
		fnd.NoFix = err.Error()
	}
	c.pass.Report(fnd)
}
