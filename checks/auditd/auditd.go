package auditd

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/facts"
	"rescue/parse/auditdconf"
)

// Check is the auditd check.
var Check = &checks.Check{
	Name:     "auditd",
	Doc:      doc,
	Requires: []facts.Fact{facts.Filesystems},
	Kinds:    []string{"halt-on-disk"},
	Run:      run,
}

const confPath = "/etc/audit/auditd.conf"

// actions are the keywords that may halt the machine, with auditd's
// default threshold keyword for each (MB of free space).
var actions = []struct {
	key, threshold string
	def            float64
}{
	{"space_left_action", "space_left", 75},
	{"admin_space_left_action", "admin_space_left", 50},
	{"disk_full_action", "", 0},
	{"disk_error_action", "", 0},
}

func run(pass *checks.Pass) error {
	if !pass.Root.Exists("/sbin/auditd") && !pass.Root.Exists("/usr/sbin/auditd") {
		return nil
	}
	data, err := pass.Root.ReadFileLimit(confPath, 1<<20)
	if err != nil {
		return nil
	}
	conf := auditdconf.Parse(data)
	logFile := "/var/log/audit/audit.log"
	if e, ok := conf.Get("log_file"); ok && strings.HasPrefix(e.Value, "/") {
		logFile = e.Value
	}
	fs := holding(pass.Facts.Filesystems(), path.Dir(logFile))
	if fs != nil && fs.SizeBytes == 0 {
		fs = nil // not mounted by rescue: its space is unknown
	}
	for _, a := range actions {
		e, ok := conf.Get(a.key)
		if !ok {
			continue
		}
		v := strings.ToUpper(e.Value)
		if v != "HALT" && v != "SINGLE" {
			continue
		}
		what := "halts the machine"
		if v == "SINGLE" {
			what = "switches the machine to single-user mode (console only, no network, no SSH)"
		}
		f := checks.Finding{
			Kind: "halt-on-disk", Subject: a.key, Severity: checks.Warning, Path: confPath, Line: e.Line,
			Message:  fmt.Sprintf("%s = %s: auditd %s when %s", a.key, e.Value, what, trigger(a.key)),
			Evidence: []string{strings.TrimSpace(e.Raw)},
		}
		now, why := fires(a.key, a.threshold, a.def, conf, fs)
		if why != "" {
			f.Message += " (" + why + ")"
		}
		switch {
		case fs == nil:
			f.Impact = "when the disk holding " + path.Dir(logFile) + " fills, the machine goes down; rescue was given a directory, so whether it is full now cannot be seen"
			f.NoFix = "this is audit policy: make room in " + path.Dir(logFile) + " if it is full"
		case !now:
			f.Impact = fmt.Sprintf("not now (%s); when it fills, the machine goes down", why)
			f.NoFix = "this is audit policy; keep " + path.Dir(logFile) + " from filling"
		default:
			f.Severity = checks.Critical
			f.Impact = fmt.Sprintf("it fires now (%s): the machine halts shortly after every boot, as soon as auditd starts", why)
			if v == "SINGLE" {
				f.Severity = checks.Error
				f.Impact = fmt.Sprintf("it fires now (%s): every boot ends in single-user mode, and nobody can log in over the network", why)
			}
			for _, nv := range []string{"SUSPEND", "SYSLOG"} {
				f.AddFix(checks.ReplaceLine(pass.Root, confPath, data, e.Line, a.key+" = "+nv,
					fmt.Sprintf("Set %s = %s so that the machine keeps running (this relaxes the audit policy: auditd %s; set it back to %s once %s has room)",
						a.key, nv, map[string]string{"SUSPEND": "stops writing audit records", "SYSLOG": "only logs a warning"}[nv], e.Value, path.Dir(logFile))))
			}
		}
		pass.Report(f)
	}
	return nil
}

func trigger(key string) string {
	switch key {
	case "disk_full_action":
		return "its disk is full"
	case "disk_error_action":
		return "writing the audit log fails"
	case "admin_space_left_action":
		return "free space falls below admin_space_left"
	}
	return "free space falls below space_left"
}

// fires says whether the action's condition holds now on fs, and shows
// the arithmetic.
func fires(key, threshold string, def float64, conf *auditdconf.File, fs *facts.Filesystem) (bool, string) {
	if fs == nil {
		return false, ""
	}
	freeMB := float64(fs.FreeBytes) / (1 << 20)
	switch key {
	case "disk_full_action":
		return fs.FreeBytes < 1<<20, fmt.Sprintf("%s has %.0f MB free", fs.Device, freeMB)
	case "disk_error_action":
		return fs.Errors, fmt.Sprintf("%s has recorded errors: %v", fs.Device, fs.Errors)
	}
	limit, raw := def, fmt.Sprintf("%g (the default)", def)
	if e, ok := conf.Get(threshold); ok {
		raw = e.Value
		if pct, ok := strings.CutSuffix(e.Value, "%"); ok {
			if p, err := strconv.ParseFloat(strings.TrimSpace(pct), 64); err == nil {
				limit = p / 100 * float64(fs.SizeBytes) / (1 << 20)
			}
		} else if n, err := strconv.ParseFloat(e.Value, 64); err == nil {
			limit = n
		}
	}
	return freeMB < limit, fmt.Sprintf("%s has %.0f MB free, %s is %s = %.0f MB", fs.Device, freeMB, threshold, raw, limit)
}

// holding returns the filesystem whose mount point is the longest prefix of
// dir: the one the directory is on.
func holding(list []facts.Filesystem, dir string) *facts.Filesystem {
	var best *facts.Filesystem
	for i := range list {
		mp := list[i].MountPoint
		if mp == "" || !(dir == mp || mp == "/" || strings.HasPrefix(dir, mp+"/")) {
			continue
		}
		if best == nil || len(mp) > len(best.MountPoint) {
			best = &list[i]
		}
	}
	return best
}
