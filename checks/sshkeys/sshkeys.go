package sshkeys

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/checks/intrusion"
	"rescue/facts"
	"rescue/parse/authkeys"
	"rescue/parse/sshdconfig"
	"rescue/repair"
)

// Check is the sshkeys check.
var Check = &checks.Check{
	Name:     "sshkeys",
	Family:   intrusion.Family,
	Doc:      doc,
	Requires: []facts.Fact{facts.Packages, facts.Accounts},
	Kinds:    []string{"key"},
	Run:      run,
}

// maxKeys bounds an authorized_keys read (a Redis dump can be large).
const maxKeys = 8 << 20

// cloudInitRootCommand is how cloud-init's disable_root locks root's keys:
// a forced command telling the user which account to use instead.
const cloudInitRootCommand = "Please login as the user"

func run(pass *checks.Pass) error {
	e := intrusion.New(pass)
	patterns := keyFiles(pass)
	seen := map[string]bool{}
	uidMin := e.UIDMin()
	for _, u := range e.Users() {
		if !strings.HasPrefix(u.Home, "/") {
			continue
		}
		var files []keyFile
		locked := false
		for _, pat := range patterns {
			p := expand(pat, u)
			real, err := pass.Root.Resolve(p)
			// A file two accounts share (a second uid 0 with root's home)
			// is judged once, for the first.
			if err != nil || seen[real] {
				continue
			}
			seen[real] = true
			data, err := pass.Root.ReadFileLimit(real, maxKeys)
			if err != nil {
				continue
			}
			kf := keyFile{path: real, data: data, f: authkeys.Parse(data), second: strings.HasSuffix(pat, "authorized_keys2")}
			for _, k := range kf.f.Keys {
				locked = locked || cloudLocked(k)
			}
			files = append(files, kf)
		}
		for _, kf := range files {
			file(e, kf, u, uidMin, locked)
		}
	}
	return nil
}

// keyFiles returns sshd's AuthorizedKeysFile patterns (the defaults when
// it names none).
func keyFiles(pass *checks.Pass) []string {
	def := []string{".ssh/authorized_keys", ".ssh/authorized_keys2"}
	cfg, err := sshdconfig.Load(pass.Root, "/etc/ssh/sshd_config", true)
	if err != nil {
		return def
	}
	d := cfg.First("authorizedkeysfile")
	if d == nil || len(d.Args) == 0 {
		return def
	}
	var out []string
	for _, a := range d.Args {
		if !strings.EqualFold(a, "none") {
			out = append(out, a)
		}
	}
	// The defaults are looked at too: a key file sshd does not read
	// today is one a configuration change brings back.
	for _, x := range def {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// expand turns an AuthorizedKeysFile pattern into a path for a user.
func expand(pat string, u intrusion.User) string {
	r := strings.NewReplacer("%h", u.Home, "%u", u.Name, "%U", strconv.Itoa(int(u.UID)), "%%", "%")
	p := r.Replace(pat)
	if strings.HasPrefix(p, "~/") {
		p = path.Join(u.Home, p[2:])
	}
	if !strings.HasPrefix(p, "/") {
		p = path.Join(u.Home, p)
	}
	return path.Clean(p)
}

// keyFile is one authorized_keys file of a user.
type keyFile struct {
	path   string
	data   []byte
	f      *authkeys.File
	second bool // authorized_keys2
}

// cloudLocked says whether a key carries cloud-init's disable_root
// command, which only prints which user to log in as.
func cloudLocked(k authkeys.Key) bool {
	cmd, ok := k.Option("command")
	return ok && strings.Contains(cmd, cloudInitRootCommand)
}

func file(e *intrusion.Engine, kf keyFile, u intrusion.User, uidMin uint32, locked bool) {
	p, data, f, second := kf.path, kf.data, kf.f, kf.second
	redis := bytes.Contains(data[:min(len(data), 64)], []byte("REDIS00"))
	service := u.UID != 0 && u.UID < uidMin
	for _, k := range f.Keys {
		if cloudLocked(k) {
			continue // it can only print a message
		}
		var marks []checks.Mark
		cmd, forced := k.Option("command")
		var c *intrusion.Command
		if forced {
			c = intrusion.AnalyzeShell(cmd, u.Home)
		}
		if redis {
			marks = append(marks, checks.Mark{Code: "redis-dump", Why: fmt.Sprintf("%s is a Redis dump (REDIS00… header) with a key in it: a Redis server was made to write it (CONFIG SET dir and dbfilename)", p)})
		}
		for _, bad := range knownBadComments {
			if strings.Contains(strings.ToLower(k.Comment), bad) {
				marks = append(marks, checks.Mark{Code: "known-key", Why: fmt.Sprintf("the key's comment %q is the one a known miner kit plants", k.Comment)})
			}
		}
		if u.UID == 0 && locked && !forced {
			marks = append(marks, checks.Mark{Code: "added-root-key", Why: "cloud-init locked root's keys with a forced command (disable_root), and this one has none: it was added afterwards"})
		}
		if service && !forced {
			marks = append(marks, checks.Mark{Code: "service-account-key", Why: fmt.Sprintf("it lets someone log in as %s (uid %d), a service account no person uses", u.Name, u.UID)})
		}
		if second {
			marks = append(marks, checks.Mark{Code: "authorized-keys2", Why: fmt.Sprintf("it is in %s, which OpenSSH still reads but hardly anyone looks at", p)})
		}
		who := u.Name
		en := &intrusion.Entry{
			Place: "authorized_keys", Kind: "key", What: fmt.Sprintf("SSH key %s for %s", describe(k), who),
			Path: p, Line: k.Line, Subject: strconv.Itoa(k.Line), Text: k.Raw, Cmd: c, Marks: marks,
			Files:    []intrusion.FileRef{{Path: p, Role: "entry"}},
			Impact:   fmt.Sprintf("whoever holds the private key logs in as %s over SSH, whatever the password", who),
			Evidence: []string{"fingerprint " + k.Fingerprint()},
		}
		if u.UID == 0 {
			en.Impact = "whoever holds the private key logs in as root over SSH, whatever the password, and can put the miner back"
		}
		op, err := intrusion.CommentLines(e.Root(), p, data, []int{k.Line}, "ssh key")
		if err != nil {
			en.DisableErr = err
		} else {
			en.Disable, en.DisableText = []repair.Op{op}, fmt.Sprintf("comment out the key on line %d of %s", k.Line, p)
		}
		j := e.JudgeEntry(en)
		if len(j.Marks) == 0 {
			continue
		}
		fd := e.Finding(en, j)
		fd.Indicators.Keys = []string{strings.TrimSpace(k.Fingerprint() + " " + k.Type + " " + k.Comment)}
		e.Pass().Report(fd)
	}
}

// knownBadComments are comments of keys miner kits plant (the Outlaw kit's
// "mdrfckr", in many honeypot reports).
var knownBadComments = []string{"mdrfckr"}

func describe(k authkeys.Key) string {
	s := k.Type
	if k.Comment != "" {
		s += " " + strconvQuote(k.Comment)
	}
	return s
}

func strconvQuote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}
