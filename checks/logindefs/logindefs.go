package logindefs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/facts"
	"rescue/parse/logindefs"
	"rescue/parse/osrelease"
	"rescue/repair"
)

// Check is the logindefs check.
var Check = &checks.Check{
	Name:     "logindefs",
	Doc:      doc,
	Requires: []facts.Fact{facts.OSRelease},
	Kinds:    []string{"erasechar", "killchar", "login-timeout", "uid-range", "gid-range"},
	Reads:    []string{"/etc/login.defs"},
	Run:      run,
}

const path = "/etc/login.defs"

func run(pass *checks.Pass) error {
	data, err := pass.Root.ReadFileLimit(path, 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // every program uses its built-in defaults
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	c := &checker{pass: pass, file: logindefs.Parse(data), data: data}
	c.login, c.loginWhy = whichLogin(pass)
	c.termChar("ERASECHAR", "0177", "DEL")
	c.termChar("KILLCHAR", "025", "Ctrl-U")
	c.timeout()
	os := pass.Facts.OS()
	minDefault := int64(1000)
	if os.Family == osrelease.RHEL && os.Major() > 0 && os.Major() <= 6 {
		minDefault = 500
	}
	c.idRange("UID", minDefault, 60000, "useradd")
	c.idRange("GID", minDefault, 60000, "groupadd and useradd")
	return nil
}

type checker struct {
	pass *checks.Pass
	file *logindefs.File
	data []byte
	// login is "shadow" or "util-linux".
	login    string
	loginWhy string
}

// whichLogin tells which login program the target has: shadow's reads
// ERASECHAR and KILLCHAR from login.defs (the key is in its binary),
// util-linux's does not. Without a binary to read, the release decides:
// Debian moved /bin/login to util-linux in Debian 13; Ubuntu and older
// Debian use shadow's, the RHEL and SUSE families util-linux's.
func whichLogin(pass *checks.Pass) (string, string) {
	for _, p := range []string{"/bin/login", "/usr/bin/login"} {
		data, err := pass.Root.ReadFileLimit(p, 16<<20)
		if err != nil || len(data) == 0 {
			continue
		}
		if bytes.Contains(data, []byte("ERASECHAR")) {
			return "shadow", p + " is shadow's login (it reads ERASECHAR)"
		}
		return "util-linux", p + " is util-linux's login (it does not read ERASECHAR)"
	}
	os := pass.Facts.OS()
	if os.Family == osrelease.Debian && !(os.ID == "debian" && os.Major() >= 13) {
		return "shadow", "no login binary to read; " + os.ID + " " + os.VersionID + " uses shadow's login"
	}
	return "util-linux", "no login binary to read; this release uses util-linux's login"
}

func (c *checker) evidence(d logindefs.Def) string {
	return fmt.Sprintf("%s:%d: %s", path, d.Line, strings.TrimRight(d.Raw, "\r"))
}

func (c *checker) rewrite(f *checks.Finding, d logindefs.Def, value, message string) {
	f.AddFix(checks.ReplaceLine(c.pass.Root, path, c.data, d.Line, d.WithValue(value), message))
}

// termChar checks ERASECHAR or KILLCHAR, which shadow's login copies into
// the terminal's c_cc array (a cc_t, one byte) and exits when the value
// does not fit.
func (c *checker) termChar(name, good, goodName string) {
	d, ok := c.file.Lookup(name)
	if !ok || c.login != "shadow" {
		return
	}
	n, ok := logindefs.Number(d.Value)
	f := checks.Finding{
		Kind: strings.ToLower(name), Subject: name, Path: path, Line: d.Line,
		Evidence: []string{c.evidence(d), c.loginWhy},
	}
	switch {
	case !ok:
		// getdef_num logs the error and returns the terminal's own
		// character: login goes on (measured under qemu on Debian 12),
		// but every console login shows the error.
		f.Severity = checks.Warning
		f.Message = fmt.Sprintf("%s %q is not a number", name, d.Value)
		f.Impact = fmt.Sprintf("every console login prints \"configuration error - cannot parse %s value\" and keeps the terminal's own character; a value that parses but does not fit would lock the console", name)
	case n < 0 || n > 255:
		f.Severity = checks.Error
		f.Message = fmt.Sprintf("%s %s (%d) does not fit a terminal character (0-255)", name, d.Value, n)
		f.Impact = fmt.Sprintf("login prints \"configuration error - cannot parse %s value\" and exits before asking for the password: no one can log in on the console (SSH does not run login and is not affected)", name)
	case n == '\n':
		f.Severity = checks.Error
		f.Message = fmt.Sprintf("%s %s is the newline character", name, d.Value)
		f.Impact = "Enter (which the terminal turns into a newline) erases the line instead of ending it, so no password can ever be submitted on the console"
	case n >= 0x20 && n < 0x7f:
		f.Severity = checks.Warning
		f.Message = fmt.Sprintf("%s %s is the printable character %q", name, d.Value, rune(n))
		f.Impact = fmt.Sprintf("typing %q on the console erases instead: a password containing it cannot be entered", rune(n))
	default:
		return
	}
	c.rewrite(&f, d, good, fmt.Sprintf("Set %s back to %s (%s)", name, good, goodName))
	c.pass.Report(f)
}

// timeout checks LOGIN_TIMEOUT, the seconds login waits for the password
// (0 means no limit).
func (c *checker) timeout() {
	d, ok := c.file.Lookup("LOGIN_TIMEOUT")
	if !ok {
		return
	}
	n, ok := logindefs.Number(d.Value)
	if !ok || n <= 0 || n >= 15 {
		return
	}
	f := checks.Finding{
		Kind: "login-timeout", Path: path, Line: d.Line, Severity: checks.Warning,
		Message:  fmt.Sprintf("LOGIN_TIMEOUT %s gives %d seconds to type the password", d.Value, n),
		Impact:   "login gives up (\"Login timed out\") if the password takes longer; a slow or pasted-by-hand console login fails",
		Evidence: []string{c.evidence(d)},
	}
	if n < 5 {
		f.Severity = checks.Error
		f.Impact = "login gives up (\"Login timed out\") before a password can be typed: no one can log in on the console"
	}
	c.rewrite(&f, d, "60", "Set LOGIN_TIMEOUT back to 60 seconds")
	c.pass.Report(f)
}

// idRange checks that PREFIX_MIN is not above PREFIX_MAX (each taking its
// default when not set or not a number).
func (c *checker) idRange(prefix string, defMin, defMax int64, tools string) {
	minName, maxName := prefix+"_MIN", prefix+"_MAX"
	lo, loDef, loSet := c.number(minName, defMin)
	hi, hiDef, hiSet := c.number(maxName, defMax)
	if lo <= hi {
		return
	}
	f := checks.Finding{
		Kind: strings.ToLower(prefix) + "-range", Severity: checks.Warning, Path: path,
		Message: fmt.Sprintf("%s (%d) is above %s (%d): the range of %ss for new accounts is empty", minName, lo, maxName, hi, prefix),
		Impact:  fmt.Sprintf("%s fail (\"Can't get unique %s\" / invalid configuration): cloud-init cannot create the instance's user on first boot, so an instance made from this disk lets no one in with its key", tools, prefix),
	}
	if loSet {
		f.Line = loDef.Line
		f.Evidence = append(f.Evidence, c.evidence(loDef))
	}
	if hiSet {
		if f.Line == 0 {
			f.Line = hiDef.Line
		}
		f.Evidence = append(f.Evidence, c.evidence(hiDef))
	}
	switch {
	case loSet && hiSet:
		// Both are set (often swapped): put both back to the defaults in
		// one edit.
		lines, nl := checks.Lines(c.data)
		lines[loDef.Line-1] = loDef.WithValue(strconv.FormatInt(defMin, 10))
		lines[hiDef.Line-1] = hiDef.WithValue(strconv.FormatInt(defMax, 10))
		f.AddFix(repair.NewFix(fmt.Sprintf("Set %s and %s back to %d and %d", minName, maxName, defMin, defMax)).
			Add(repair.WriteFile(c.pass.Root, path, checks.JoinLines(lines, nl))).Build())
	case loSet && defMin <= hi:
		c.rewrite(&f, loDef, strconv.FormatInt(defMin, 10), fmt.Sprintf("Set %s back to %d", minName, defMin))
	case hiSet && lo <= defMax:
		c.rewrite(&f, hiDef, strconv.FormatInt(defMax, 10), fmt.Sprintf("Set %s back to %d", maxName, defMax))
	default:
		f.NoFix = fmt.Sprintf("no single value can be reset to its default to make the range valid; set %s and %s by hand", minName, maxName)
	}
	c.pass.Report(f)
}

// number returns the value of a numeric key, its definition, and whether a
// definition counts (a value that does not parse is ignored, as
// getdef_ulong does).
func (c *checker) number(name string, def int64) (int64, logindefs.Def, bool) {
	d, ok := c.file.Lookup(name)
	if !ok {
		return def, d, false
	}
	n, ok := logindefs.Number(d.Value)
	if !ok {
		return def, d, false
	}
	return n, d, true
}
