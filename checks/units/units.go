package units

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"rescue/checks"
	"rescue/checks/internal/restore"
	"rescue/checks/intrusion"
	"rescue/facts"
	"rescue/parse/unitfile"
	"rescue/repair"
)

// Check is the units check.
var Check = &checks.Check{
	Name:     "units",
	Family:   intrusion.Family,
	Doc:      doc,
	Requires: []facts.Fact{facts.Packages, facts.Accounts},
	Kinds:    []string{"unit", "drop-in", "debug-shell", "generator", "init-script", "rc-local"},
	Run:      run,
}

// Where systemd looks for units, most important first (systemd.unit(5)).
var (
	systemDirs    = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"}
	userDirs      = []string{"/etc/systemd/user", "/usr/local/lib/systemd/user", "/lib/systemd/user", "/usr/lib/systemd/user"}
	homeUserDirs  = []string{".config/systemd/user", ".local/share/systemd/user"}
	generatorDirs = []string{
		"/etc/systemd/system-generators", "/usr/local/lib/systemd/system-generators", "/lib/systemd/system-generators", "/usr/lib/systemd/system-generators",
		"/etc/systemd/user-generators", "/usr/local/lib/systemd/user-generators", "/lib/systemd/user-generators", "/usr/lib/systemd/user-generators",
	}
	initDirs    = []string{"/etc/init.d", "/etc/rc.d/init.d"}
	rcDirs      = []string{"/etc/rc0.d", "/etc/rc1.d", "/etc/rc2.d", "/etc/rc3.d", "/etc/rc4.d", "/etc/rc5.d", "/etc/rc6.d", "/etc/rcS.d", "/etc/rc.d/rc0.d", "/etc/rc.d/rc1.d", "/etc/rc.d/rc2.d", "/etc/rc.d/rc3.d", "/etc/rc.d/rc4.d", "/etc/rc.d/rc5.d", "/etc/rc.d/rc6.d"}
	rcLocals    = []string{"/etc/rc.d/rc.local", "/etc/rc.local"}
	unitSuffix  = []string{".service", ".timer", ".socket", ".path", ".mount", ".automount", ".swap", ".target"}
	linkDirSufx = []string{".wants", ".requires", ".upholds"}
)

// maxUnit bounds a unit file read.
const maxUnit = 1 << 20

// unit is one unit file found in a unit directory.
type unit struct {
	path  string // where it is listed
	real  string // with symlinks followed
	name  string
	scope string // "system", or "user" (of home)
	home  string
	user  string
}

// link is a symlink that enables or aliases a unit.
type link struct {
	path, name, target, real string
}

type scan struct {
	e     *intrusion.Engine
	units []*unit
	links []link
	// aliases are top-level symlinks in unit directories: names for a
	// unit file, or masks (-> /dev/null).
	aliases []link
	dropins map[string][]string // unit name -> drop-in files
	seen    map[string]bool
}

func run(pass *checks.Pass) error {
	s := &scan{e: intrusion.New(pass), dropins: map[string][]string{}, seen: map[string]bool{}}
	for _, d := range systemDirs {
		s.index(d, "system", "", "")
	}
	for _, d := range userDirs {
		s.index(d, "user", "", "")
	}
	for _, u := range s.e.Users() {
		if !strings.HasPrefix(u.Home, "/") || u.Home == "/" {
			continue
		}
		for _, d := range homeUserDirs {
			s.index(path.Join(u.Home, d), "user", u.Home, u.Name)
		}
	}
	for _, u := range s.units {
		s.judgeUnit(u)
	}
	s.judgeDropins()
	s.debugShell()
	s.generators()
	s.initScripts()
	s.rcLocal()
	return nil
}

// index lists one unit directory: unit files, enablement links in
// *.wants/ and the like, aliases, and drop-ins.
func (s *scan) index(dir, scope, home, user string) {
	r := s.e.Root()
	real, err := r.Resolve(dir)
	if err != nil || s.seen[real] {
		return
	}
	s.seen[real] = true
	entries, err := r.ReadDir(real)
	if err != nil {
		return
	}
	for _, en := range entries {
		p := path.Join(real, en.Name())
		switch {
		case en.IsDir() && hasSuffix(en.Name(), linkDirSufx):
			links, _ := r.ReadDir(p)
			for _, l := range links {
				lp := path.Join(p, l.Name())
				target, _ := r.Readlink(lp)
				lreal, _ := r.Resolve(lp)
				s.links = append(s.links, link{path: lp, name: l.Name(), target: target, real: lreal})
			}
		case en.IsDir() && strings.HasSuffix(en.Name(), ".d") && hasSuffix(strings.TrimSuffix(en.Name(), ".d"), unitSuffix):
			name := strings.TrimSuffix(en.Name(), ".d")
			confs, _ := r.ReadDir(p)
			for _, c := range confs {
				if strings.HasSuffix(c.Name(), ".conf") {
					s.dropins[name] = append(s.dropins[name], path.Join(p, c.Name()))
				}
			}
		case hasSuffix(en.Name(), unitSuffix):
			target := ""
			if en.Type()&fs.ModeSymlink != 0 {
				target, _ = r.Readlink(p)
			}
			ureal, err := r.Resolve(p)
			if err != nil || target == "/dev/null" {
				if target != "" {
					s.aliases = append(s.aliases, link{path: p, name: en.Name(), target: target})
				}
				continue
			}
			if fi, err := r.Stat(ureal); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if target != "" {
				s.aliases = append(s.aliases, link{path: p, name: en.Name(), target: target, real: ureal})
				if path.Base(ureal) != en.Name() || isUnitDir(path.Dir(ureal)) {
					continue // an alias of a unit listed on its own
				}
			}
			s.units = append(s.units, &unit{path: p, real: ureal, name: en.Name(), scope: scope, home: home, user: user})
		}
	}
}

func isUnitDir(d string) bool {
	return slices.Contains(systemDirs, d) || slices.Contains(userDirs, d) || strings.HasSuffix(d, "/systemd/user")
}

func hasSuffix(name string, list []string) bool {
	for _, x := range list {
		if strings.HasSuffix(name, x) {
			return true
		}
	}
	return false
}

// template maps an instance name to its template: foo@1.service ->
// foo@.service.
func template(name string) string {
	at := strings.IndexByte(name, '@')
	dot := strings.LastIndexByte(name, '.')
	if at < 0 || dot < at {
		return name
	}
	return name[:at+1] + name[dot:]
}

// directives holds what a unit file or drop-in runs.
type directives struct {
	cmd   *intrusion.Command
	lines []int
	text  []string
	timer string // a timer's Unit=
}

// parse reads the commands and environment of a unit file.
func (s *scan) parse(p, home string) (*directives, []byte, bool) {
	data, err := s.e.Root().ReadFileLimit(p, maxUnit)
	if err != nil {
		s.e.Pass().Note("%s not read: %v", p, err)
		return nil, nil, false
	}
	f := unitfile.Parse(data)
	d := &directives{cmd: &intrusion.Command{}}
	add := func(c *intrusion.Command) {
		d.cmd.Runs = append(d.cmd.Runs, c.Runs...)
		d.cmd.Writes = append(d.cmd.Writes, c.Writes...)
		d.cmd.Args = append(d.cmd.Args, c.Args...)
		d.cmd.URLs = appendNew(d.cmd.URLs, c.URLs...)
		d.cmd.Hosts = appendNew(d.cmd.Hosts, c.Hosts...)
		d.cmd.Wallets = appendNew(d.cmd.Wallets, c.Wallets...)
		for _, m := range c.Marks {
			if !slices.ContainsFunc(d.cmd.Marks, func(x checks.Mark) bool { return x.Code == m.Code }) {
				d.cmd.Marks = append(d.cmd.Marks, m)
			}
		}
	}
	for _, dir := range f.Directives {
		var c *intrusion.Command
		switch {
		case slices.Contains(unitfile.ExecKeys, dir.Key):
			c = intrusion.AnalyzeShell(specifiers(unitfile.Command(dir.Value), home), home)
		case dir.Key == "Environment":
			c = intrusion.AnalyzeShell(specifiers(dir.Value, home)+" true", home)
		case dir.Key == "EnvironmentFile":
			c = s.envFile(specifiers(strings.TrimPrefix(dir.Value, "-"), home), home)
		case dir.Section == "Timer" && dir.Key == "Unit":
			d.timer = dir.Value
			continue
		default:
			continue
		}
		add(c)
		if len(c.Marks) > 0 || len(c.Runs) > 0 {
			for l := dir.First; l <= dir.Last; l++ {
				d.lines = append(d.lines, l)
			}
			d.text = append(d.text, dir.Key+"="+dir.Value)
		}
	}
	return d, data, true
}

// envFile reads an EnvironmentFile= for LD_PRELOAD and the like.
func (s *scan) envFile(p, home string) *intrusion.Command {
	data, err := s.e.Root().ReadFileLimit(p, 64<<10)
	if err != nil {
		return &intrusion.Command{}
	}
	var pairs []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") && strings.Contains(l, "=") {
			pairs = append(pairs, l)
		}
	}
	return intrusion.AnalyzeShell(strings.Join(pairs, " ")+" true", home)
}

// specifiers expands the specifiers a command line may hold that name
// files: %h (home), %% (a percent sign).
func specifiers(s, home string) string {
	if home == "" {
		home = "/root"
	}
	s = strings.ReplaceAll(s, "%%", "\x00")
	s = strings.ReplaceAll(s, "%h", home)
	return strings.ReplaceAll(s, "\x00", "%")
}

func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

// linksOf returns the enablement links and aliases of a unit file.
func (s *scan) linksOf(u *unit) []link {
	var out []link
	for _, l := range s.links {
		if l.name == u.name || template(l.name) == u.name || (l.real != "" && l.real == u.real) {
			out = append(out, l)
		}
	}
	for _, a := range s.aliases {
		if a.real == u.real && a.path != u.path {
			out = append(out, a)
		}
	}
	return out
}

// judgeUnit judges one unit file and reports it when marked.
func (s *scan) judgeUnit(u *unit) {
	f := s.e.Judge(u.real, "entry")
	if f.Owned && !f.Changed {
		return
	}
	d, data, ok := s.parse(u.real, u.home)
	if !ok {
		return
	}
	links := s.linksOf(u)
	what := fmt.Sprintf("systemd unit %s", u.name)
	if u.scope == "user" {
		what = fmt.Sprintf("systemd user unit %s", u.name)
		if u.user != "" {
			what += " of " + u.user
		}
	}
	en := &intrusion.Entry{
		Place: "systemd", Kind: "unit", What: what,
		Path: u.real, Subject: "", Text: strings.Join(d.text, "\n"), Cmd: d.cmd,
		Files:  []intrusion.FileRef{{Path: u.real, Role: "entry"}},
		Impact: s.impact(u, links),
	}
	j := s.e.JudgeEntry(en)
	if len(j.Marks) == 0 {
		return
	}
	var parts []string
	b := repair.NewFix("")
	switch {
	case f.Owned && f.Replaced:
		// A package's unit whose content changed: the package has it.
		fx, err := restore.Fix(s.e.Pass(), u.real)
		if err != nil {
			en.DisableErr = err
			break
		}
		for _, op := range fx.Ops {
			b.Add(op, nil)
		}
		parts = append(parts, "restore "+u.real+" from its package")
	case f.Owned:
		// A changed configuration file of a package: comment out what
		// it runs.
		b.Add(intrusion.CommentLines(s.e.Root(), u.real, data, d.lines, "unit command"))
		parts = append(parts, fmt.Sprintf("comment out the marked commands of %s", u.real))
	default:
		n := s.disable(b, u, links)
		if n > 0 {
			parts = append(parts, fmt.Sprintf("remove %d link(s) that enable it", n))
		}
		b.Add(s.e.QuarantineOp(u.real))
		if u.path != u.real {
			b.Add(repair.Remove(s.e.Root(), u.path))
		}
		parts = append(parts, "quarantine "+u.real)
		// A timer, path or socket unit that starts it goes with it.
		for _, o := range s.starters(u) {
			n := s.disable(b, o, s.linksOf(o))
			b.Add(s.e.QuarantineOp(o.real))
			parts = append(parts, fmt.Sprintf("quarantine %s (and its %d link(s)), which starts it", o.real, n))
		}
	}
	if en.DisableErr == nil {
		fx, err := b.Build()
		if err != nil {
			en.DisableErr = err
		} else {
			en.Disable, en.DisableText = fx.Ops, strings.Join(parts, "; ")
		}
	}
	s.e.Pass().Report(s.e.Finding(en, j))
}

// disable adds the removal of links to b and returns how many.
func (s *scan) disable(b *repair.Builder, u *unit, links []link) int {
	n := 0
	for _, l := range links {
		b.Add(repair.Remove(s.e.Root(), l.path))
		n++
	}
	return n
}

// starters returns the timer, path and socket units no package owns that
// start u: the ones with its base name, and timers whose Unit= names it.
func (s *scan) starters(u *unit) []*unit {
	if !strings.HasSuffix(u.name, ".service") {
		return nil
	}
	base := strings.TrimSuffix(u.name, ".service")
	var out []*unit
	for _, o := range s.units {
		if o == u || o.real == u.real || s.e.Owned(o.real) {
			continue
		}
		match := false
		for _, sfx := range []string{".timer", ".path", ".socket"} {
			match = match || o.name == base+sfx
		}
		if !match && strings.HasSuffix(o.name, ".timer") {
			if d, _, ok := s.parse(o.real, o.home); ok && d.timer == u.name {
				match = true
			}
		}
		if match {
			out = append(out, o)
		}
	}
	return out
}

func (s *scan) impact(u *unit, links []link) string {
	var where []string
	for _, l := range links {
		if d := path.Base(path.Dir(l.path)); hasSuffix(d, linkDirSufx) {
			where = append(where, d)
		}
	}
	if len(where) > 0 {
		msg := fmt.Sprintf("it is enabled (%s): systemd starts it at every boot and restarts what was removed by hand", strings.Join(where, ", "))
		if u.scope == "user" {
			msg = fmt.Sprintf("it is enabled (%s): systemd starts it whenever the user logs in, and at boot when the user lingers", strings.Join(where, ", "))
		}
		return msg
	}
	return "it runs whenever another unit, a timer or a socket starts it"
}

// judgeDropins judges the drop-ins (UNIT.d/*.conf) no package installed
// as it is.
func (s *scan) judgeDropins() {
	var names []string
	for n := range s.dropins {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, p := range s.dropins[name] {
			real, err := s.e.Root().Resolve(p)
			if err != nil {
				continue
			}
			f := s.e.Judge(real, "entry")
			if f.Owned && !f.Changed {
				continue
			}
			home := ""
			if i := strings.Index(real, "/.config/systemd/user/"); i > 0 {
				home = real[:i]
			}
			d, data, ok := s.parse(real, home)
			if !ok {
				continue
			}
			en := &intrusion.Entry{
				Place: "systemd", Kind: "drop-in", What: fmt.Sprintf("drop-in %s for %s", path.Base(real), name),
				Path: real, Text: strings.Join(d.text, "\n"), Cmd: d.cmd,
				Files:  []intrusion.FileRef{{Path: real, Role: "entry"}},
				Impact: fmt.Sprintf("systemd adds it to %s: whenever that unit starts, so does what the drop-in runs", name),
			}
			if f.Owned {
				op, err := intrusion.CommentLines(s.e.Root(), real, data, d.lines, "unit command")
				en.Disable, en.DisableErr, en.DisableText = []repair.Op{op}, err, "comment out its marked commands"
			} else {
				op, err := s.e.QuarantineOp(real)
				en.Disable, en.DisableErr, en.DisableText = []repair.Op{op}, err, "quarantine "+real
			}
			if en.DisableErr != nil {
				en.Disable = nil
			}
			s.e.Report(en)
		}
	}
}

// debugShell reports debug-shell.service enabled: a root shell on tty9
// with no password, a favourite way back in.
func (s *scan) debugShell() {
	var links []link
	for _, l := range s.links {
		if l.name == "debug-shell.service" {
			links = append(links, l)
		}
	}
	if len(links) == 0 {
		return
	}
	b := repair.NewFix("Remove the link(s) that enable debug-shell.service")
	var ev []string
	for _, l := range links {
		b.Add(repair.Remove(s.e.Root(), l.path))
		ev = append(ev, l.path+" -> "+l.target)
	}
	f := checks.Finding{
		Kind: "debug-shell", Severity: checks.Warning, Path: links[0].path,
		Message:    "debug-shell.service is enabled: a root shell without a password waits on tty9 from early boot",
		Impact:     "anyone at the console (or the cloud's VNC console) is root without logging in; meant for debugging a boot, never for staying enabled",
		Evidence:   ev,
		Indicators: &checks.Indicators{Place: "systemd", Marks: []checks.Mark{{Code: "debug-shell", Why: "debug-shell.service gives a root shell without a password on tty9"}}},
	}
	f.AddFix(b.Build())
	s.e.Pass().Report(f)
}

// generators judges the programs systemd runs at every boot and daemon
// reload to write units.
func (s *scan) generators() {
	for _, l := range s.e.Entries(generatorDirs...) {
		p := l.Path
		f := s.e.Judge(p, "program")
		if f == nil || f.Missing || (f.Owned && !f.Changed) {
			continue
		}
		s.e.Report(&intrusion.Entry{
			Place: "systemd", Kind: "generator", What: fmt.Sprintf("systemd generator %s", p),
			Path: p, Files: []intrusion.FileRef{{Path: p, Role: "program"}},
			Impact: "systemd runs every generator at each boot and daemon-reload, as root, before any unit starts",
		})
	}
}

// initScripts judges SysV init scripts: ones no package installed as a
// whole (disabled by removing their rc?.d links, then quarantined), changed
// ones of a package statement by statement.
func (s *scan) initScripts() {
	r := s.e.Root()
	for _, l := range s.e.Entries(initDirs...) {
		name, p := l.Entry.Name(), l.Path
		if !l.Entry.Type().IsRegular() || strings.HasPrefix(name, ".") || name == "README" || name == "functions" {
			continue
		}
		f := s.e.Judge(p, "script")
		if f == nil || (f.Owned && !f.Changed) {
			continue
		}
		base := intrusion.Entry{
			Place: "sysv-init", Kind: "init-script", What: fmt.Sprintf("SysV init script %s", p),
			Impact: "systemd's sysv generator turns it into a unit started at boot from its rc?.d links",
		}
		if f.Owned {
			if data, err := r.ReadFileLimit(p, maxUnit); err == nil {
				s.e.ScriptEntries(p, data, "/root", base)
			}
			continue
		}
		en := base
		en.Path = p
		en.Files = []intrusion.FileRef{{Path: p, Role: "script"}}
		b := repair.NewFix("")
		links := s.rcLinks(p)
		for _, rc := range links {
			b.Add(repair.Remove(r, rc))
		}
		fx, err := b.Build()
		en.Disable, en.DisableErr = fx.Ops, err
		if len(links) > 0 {
			en.DisableText = fmt.Sprintf("remove its %d rc?.d link(s)", len(links))
		}
		s.e.Report(&en)
	}
}

// rcLinks returns the rc?.d links to an init script.
func (s *scan) rcLinks(script string) []string {
	r := s.e.Root()
	var out []string
	for _, d := range rcDirs {
		entries, err := r.ReadDir(d)
		if err != nil {
			continue
		}
		for _, en := range entries {
			p := path.Join(d, en.Name())
			if real, err := r.Resolve(p); err == nil && real == script {
				out = append(out, p)
			}
		}
	}
	return out
}

// rcLocal judges rc.local statement by statement.
func (s *scan) rcLocal() {
	r := s.e.Root()
	seen := map[string]bool{}
	for _, p := range rcLocals {
		real, err := r.Resolve(p)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		f := s.e.Judge(real, "entry")
		if f == nil || f.Missing || f.Type != "file" || (f.Owned && !f.Changed) {
			continue
		}
		data, err := r.ReadFileLimit(real, maxUnit)
		if err != nil {
			continue
		}
		s.e.ScriptEntries(real, data, "/root", intrusion.Entry{
			Place: "rc.local", Kind: "rc-local", What: "rc.local command",
			Impact: "rc-local.service runs it as root at every boot",
		})
	}
}
