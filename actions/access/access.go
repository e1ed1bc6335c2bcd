package access

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"rescue/checks"
	"rescue/parse/authkeys"
	"rescue/parse/passwd"
	"rescue/parse/sshdconfig"
	"rescue/repair"
	"rescue/sysroot"
)

// Options say whose access to reset, and how.
type Options struct {
	User string
	// PasswordHash is the crypt hash to set ("" leaves the password as it
	// is); CheckHash has validated it.
	PasswordHash string
	// Keys are public keys to authorize (the content of a .pub file); nil
	// for none.
	Keys []byte
	// Today is the day the password is set, in days since the epoch (as
	// shadow(5) counts); 0 means today.
	Today int64
}

// Result is the planned change and what it leaves in the way.
type Result struct {
	Fix repair.Fix
	// Changes say, one per line, what the fix does and why.
	Changes []string
	// Notes are what still stands between the user and a login and is
	// not changed, because it is policy (sshd refusing passwords for
	// root) or beyond an access reset.
	Notes []string
}

// Finding is the id plan items of a reset carry.
const Finding = "action/reset-access"

const (
	passwdFile = "/etc/passwd"
	shadowFile = "/etc/shadow"
	sshdConfig = "/etc/ssh/sshd_config"
	tallylog   = "/var/log/tallylog"
)

// account is the user's passwd entry.
type account struct {
	name        string
	uid, gid    int
	home, shell string
	pwField     string
	line        passwd.Line
}

type planner struct {
	root  *sysroot.Root
	o     Options
	acct  account
	sshd  *sshdconfig.Config
	b     *repair.Builder
	res   *Result
	today int64
}

// Plan plans resetting the access of o.User on the target at root. It
// returns an error when the reset cannot be planned at all (no such user,
// an unusable key, sshd reading no key file); what merely stands in the
// way of a login afterwards is in the result's notes.
func Plan(root *sysroot.Root, o Options) (*Result, error) {
	if o.PasswordHash == "" && o.Keys == nil {
		return nil, errors.New("nothing to reset: give a password or a key")
	}
	p := &planner{root: root, o: o, res: &Result{}, today: o.Today}
	if p.today == 0 {
		p.today = time.Now().Unix() / 86400
	}
	if err := p.loadAccount(); err != nil {
		return nil, err
	}
	if cfg, err := sshdconfig.Load(root, sshdConfig, true); err == nil {
		p.sshd = cfg
	}
	msg := "Reset the access of " + o.User
	switch {
	case o.PasswordHash != "" && o.Keys != nil:
		msg += ": set a new password and authorize an SSH key"
	case o.PasswordHash != "":
		msg += ": set a new password"
	default:
		msg += ": authorize an SSH key"
	}
	p.b = repair.NewFix(msg)
	var keys []authkeys.Key
	if o.Keys != nil {
		var err error
		if keys, err = parseKeys(o.Keys); err != nil {
			return nil, err
		}
	}
	if err := p.password(); err != nil {
		return nil, err
	}
	if keys != nil {
		if err := p.keys(keys); err != nil {
			return nil, err
		}
	}
	p.tally()
	p.shellNote()
	p.sshdNotes()
	fix, err := p.b.Build()
	if err != nil {
		return nil, err
	}
	p.res.Fix = fix
	return p.res, nil
}

func (p *planner) change(format string, args ...any) {
	p.res.Changes = append(p.res.Changes, fmt.Sprintf(format, args...))
}

func (p *planner) note(format string, args ...any) {
	p.res.Notes = append(p.res.Notes, fmt.Sprintf(format, args...))
}

func (p *planner) loadAccount() error {
	data, err := p.root.ReadFileLimit(passwdFile, 16<<20)
	if err != nil {
		return fmt.Errorf("reading %s: %w", passwdFile, err)
	}
	l, ok := passwd.Parse(data, passwd.Passwd).Lookup(p.o.User)
	if !ok {
		return fmt.Errorf("%s has no user %q (reset-access gives access to an existing account; create users with the target's own tools)", passwdFile, p.o.User)
	}
	uid, _ := strconv.Atoi(l.Field(2))
	gid, _ := strconv.Atoi(l.Field(3))
	p.acct = account{name: p.o.User, uid: uid, gid: gid, home: l.Field(5), shell: l.Field(6), pwField: l.Field(1), line: l}
	if !strings.HasPrefix(p.acct.home, "/") {
		p.acct.home = "/"
	}
	return nil
}

// password edits the shadow entry (or the passwd field of a system
// without shadow): the new hash, the date of the last change set to
// today (which clears "must change at next login" and an expired
// password), an account expiry date in the past removed, and, for a
// key-only reset where sshd runs without PAM, a locked password field
// made "no password" so that sshd does not refuse the account as locked.
func (p *planner) password() error {
	data, err := p.root.ReadFileLimit(shadowFile, 16<<20)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if p.o.PasswordHash == "" {
			return nil
		}
		if p.acct.pwField == "x" {
			return fmt.Errorf("%s says %s's password is in %s, which is missing (rescue scan reports it; the accounts check restores it)", passwdFile, p.o.User, shadowFile)
		}
		return p.passwdField()
	case err != nil:
		return fmt.Errorf("reading %s: %w", shadowFile, err)
	}
	sf := passwd.Parse(data, passwd.Shadow)
	l, ok := sf.Lookup(p.o.User)
	if !ok {
		if p.acct.pwField != "x" {
			return p.passwdField()
		}
		if p.o.PasswordHash == "" {
			return nil
		}
		line := fmt.Sprintf("%s:%s:%d:0:99999:7:::", p.o.User, p.o.PasswordHash, p.today)
		p.change("add %s's missing entry to %s with the new password", p.o.User, shadowFile)
		out := data
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
			out = append(slices.Clone(out), '\n')
		}
		p.b.Add(repair.WriteFile(p.root, shadowFile, append(slices.Clone(out), line+"\n"...)))
		return nil
	}
	f := slices.Clone(l.Fields)
	for len(f) < 9 {
		f = append(f, "")
	}
	old := strings.Join(f, ":")
	num := func(i int) (int64, bool) {
		n, err := strconv.ParseInt(f[i], 10, 64)
		return n, err == nil && f[i] != ""
	}
	if p.o.PasswordHash != "" {
		f[1] = p.o.PasswordHash
		switch {
		case strings.HasPrefix(l.Field(1), "!"):
			p.change("set the new password (the old one was locked with '!', so this also unlocks the account)")
		default:
			p.change("set the new password")
		}
	} else if strings.HasPrefix(f[1], "!") && !p.usePAM() {
		f[1] = "*"
		p.change("replace the locked password field ('!…') with '*' (no password, not locked): sshd runs without PAM (UsePAM no) and refuses key logins to a locked account")
	}
	lastchg, hasLast := num(2)
	maxDays, hasMax := num(4)
	switch {
	case p.o.PasswordHash != "":
		if f[2] != strconv.FormatInt(p.today, 10) {
			f[2] = strconv.FormatInt(p.today, 10)
			if hasLast && lastchg == 0 {
				p.change("clear the forced password change at next login (last change was 0)")
			}
		}
	case hasLast && lastchg == 0:
		f[2] = strconv.FormatInt(p.today, 10)
		p.change("clear the forced password change at next login (last change 0): sshd would demand the current password before a key session starts")
	case hasLast && hasMax && maxDays < 99999 && lastchg+maxDays < p.today:
		f[2] = strconv.FormatInt(p.today, 10)
		p.change("restart the password's age (it expired on day %d): an expired password makes PAM demand a change before a key session starts", lastchg+maxDays)
	}
	if exp, expired := passwd.AccountExpiry(passwd.Line{Fields: f}, p.today); expired {
		f[7] = ""
		p.change("remove the account expiry date (day %d, %s), which makes PAM refuse every login", exp, time.Unix(exp*86400, 0).UTC().Format("2006-01-02"))
	}
	if strings.Join(f, ":") == old && len(l.Fields) == 9 {
		return nil
	}
	lines, nl := checks.Lines(data)
	lines[l.N-1] = strings.Join(f, ":")
	if l.CR {
		lines[l.N-1] += "\r"
	}
	p.b.Add(repair.WriteFile(p.root, shadowFile, checks.JoinLines(lines, nl)))
	return nil
}

// passwdField sets the password in /etc/passwd itself, for a system
// without shadow passwords.
func (p *planner) passwdField() error {
	if p.o.PasswordHash == "" {
		return nil
	}
	data, err := p.root.ReadFileLimit(passwdFile, 16<<20)
	if err != nil {
		return fmt.Errorf("reading %s: %w", passwdFile, err)
	}
	f := slices.Clone(p.acct.line.Fields)
	f[1] = p.o.PasswordHash
	lines, nl := checks.Lines(data)
	lines[p.acct.line.N-1] = strings.Join(f, ":")
	if p.acct.line.CR {
		lines[p.acct.line.N-1] += "\r"
	}
	p.change("set the new password in %s (this system keeps no shadow entry for %s)", passwdFile, p.o.User)
	p.b.Add(repair.WriteFile(p.root, passwdFile, checks.JoinLines(lines, nl)))
	return nil
}

// usePAM is sshd's UsePAM: the shipped configurations of Debian and the
// RHEL family say yes; sshd's own default is no.
func (p *planner) usePAM() bool {
	if p.sshd == nil {
		return true
	}
	d := p.sshd.First("usepam")
	return d != nil && len(d.Args) > 0 && strings.EqualFold(d.Args[0], "yes")
}

func (p *planner) strictModes() bool {
	if p.sshd == nil {
		return true
	}
	d := p.sshd.First("strictmodes")
	return d == nil || len(d.Args) == 0 || !strings.EqualFold(d.Args[0], "no")
}

// keysFile is the first AuthorizedKeysFile with its tokens expanded: the
// file sshd reads first, where the keys go.
func (p *planner) keysFile() (string, error) {
	spec := ".ssh/authorized_keys"
	if p.sshd != nil {
		if d := p.sshd.First("authorizedkeysfile"); d != nil && len(d.Args) > 0 {
			spec = d.Args[0]
			if strings.EqualFold(spec, "none") {
				return "", fmt.Errorf("%s: AuthorizedKeysFile none: sshd reads no authorized_keys file, so a key cannot be added (keys come from AuthorizedKeysCommand or certificates there)", d.Where())
			}
		}
		if len(p.sshd.InMatch("authorizedkeysfile")) > 0 {
			p.note("Match blocks in %s set AuthorizedKeysFile for some connections; the key went to the global one", sshdConfig)
		}
	}
	var b strings.Builder
	for i := 0; i < len(spec); i++ {
		if spec[i] != '%' || i+1 == len(spec) {
			b.WriteByte(spec[i])
			continue
		}
		i++
		switch spec[i] {
		case '%':
			b.WriteByte('%')
		case 'h':
			b.WriteString(p.acct.home)
		case 'u':
			b.WriteString(p.acct.name)
		case 'U':
			b.WriteString(strconv.Itoa(p.acct.uid))
		default:
			return "", fmt.Errorf("AuthorizedKeysFile %q uses %%%c, which rescue cannot expand offline", spec, spec[i])
		}
	}
	f := b.String()
	if !strings.HasPrefix(f, "/") {
		f = path.Join(p.acct.home, f)
	}
	return sysroot.Clean(f), nil
}

// keys adds the keys to the user's authorized_keys, creating the file and
// the directories above it (up to the home directory) with the modes and
// owner sshd's StrictModes insists on, and correcting the ones that would
// make sshd ignore the file.
func (p *planner) keys(add []authkeys.Key) error {
	file, err := p.keysFile()
	if err != nil {
		return err
	}
	home := sysroot.Clean(p.acct.home)
	underHome := home != "/" && strings.HasPrefix(file, home+"/")
	owner := repair.Owner{UID: p.acct.uid, GID: p.acct.gid}

	// The directories from the home directory (or the first that
	// exists) down to the file's.
	var dirs []string
	for d := path.Dir(file); ; d = path.Dir(d) {
		dirs = append(dirs, d)
		if d == home || d == "/" {
			break
		}
	}
	slices.Reverse(dirs)
	created, parent := false, ""
	for _, d := range dirs {
		st, err := repair.ReadState(p.root, d)
		if err != nil {
			return err
		}
		inHome := underHome && (d == home || strings.HasPrefix(d, home+"/"))
		switch st.Type {
		case repair.Absent:
			var op repair.Op
			if created {
				// The parent is made by an earlier op of this fix: plan
				// against what it will be, below its resolved path.
				op = repair.Op{Kind: repair.KindMkdir, Path: path.Join(parent, path.Base(d)), Expect: repair.State{Type: repair.Absent}}
			} else if op, err = repair.Mkdir(p.root, d, 0o700); err != nil {
				return err
			}
			op.Mode, op.Owner = ptr(repair.Mode(0o700)), &owner
			if !inHome {
				op.Mode, op.Owner = ptr(repair.Mode(0o755)), &repair.Owner{}
			}
			p.b.Add(op, nil)
			p.change("create %s (mode %s, owner %d:%d)", d, *op.Mode, op.Owner.UID, op.Owner.GID)
			created, parent = true, op.Path
		case repair.Dir:
			if !inHome || !p.strictModes() {
				continue
			}
			if st.Mode&0o022 != 0 {
				mode := st.Mode &^ 0o022
				if d != home {
					mode = 0o700
				}
				p.b.Add(repair.Chmod(p.root, d, mode))
				p.change("chmod %s %s: sshd (StrictModes) ignores keys under a directory others can write (it was %s)", mode, d, st.Mode)
			}
			if st.UID != owner.UID && st.UID != 0 {
				if d == home {
					p.note("%s belongs to uid %d, not to %s: sshd (StrictModes) ignores the keys until it is chowned; rescue does not change who owns a home directory", d, st.UID, p.acct.name)
				} else {
					p.b.Add(repair.Chown(p.root, d, owner.UID, owner.GID))
					p.change("chown %d:%d %s: sshd (StrictModes) ignores keys in a directory owned by someone else (uid %d)", owner.UID, owner.GID, d, st.UID)
				}
			}
		default:
			return fmt.Errorf("%s is a %s, not a directory: the key file cannot go below it", d, st.Type)
		}
	}

	var old []byte
	if !created {
		st, err := repair.ReadState(p.root, file)
		if err != nil {
			return err
		}
		if st.Type != repair.Absent {
			if st.Type != repair.File && st.Type != repair.Symlink {
				return fmt.Errorf("%s is a %s, not a file", file, st.Type)
			}
			if old, err = p.root.ReadFileLimit(file, 1<<20); err != nil {
				return fmt.Errorf("reading %s: %w", file, err)
			}
		}
	}
	have := authkeys.Parse(old).Keys
	data := slices.Clone(old)
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		data = append(data, '\n')
	}
	n := 0
	for _, k := range add {
		if slices.ContainsFunc(have, func(h authkeys.Key) bool { return h.Type == k.Type && h.Blob == k.Blob }) {
			continue
		}
		have = append(have, k)
		data = append(data, strings.TrimSpace(k.Raw)+"\n"...)
		n++
	}
	var op repair.Op
	if created {
		op = repair.Op{Kind: repair.KindWrite, Path: path.Join(parent, path.Base(file)), Expect: repair.State{Type: repair.Absent}, Data: data}
	} else {
		if op, err = repair.WriteFile(p.root, file, data); err != nil {
			return err
		}
	}
	exists := op.Expect.Type == repair.File
	badMode := exists && p.strictModes() && op.Expect.Mode&0o022 != 0
	badOwner := exists && op.Expect.UID != owner.UID && op.Expect.UID != 0
	if n == 0 && !badMode && !badOwner {
		p.note("%s already authorizes the key: nothing to add", file)
		return nil
	}
	if !exists || badMode || badOwner {
		op.Mode, op.Owner = ptr(repair.Mode(0o600)), &owner
	}
	p.b.Add(op, nil)
	switch {
	case !exists:
		p.change("create %s with %d key(s) (mode 0600, owner %d:%d)", file, n, owner.UID, owner.GID)
	case n > 0:
		p.change("add %d key(s) to %s", n, file)
	}
	if badMode || badOwner {
		p.change("make %s mode 0600, owner %d:%d: sshd (StrictModes) ignores a key file others can write or that belongs to someone else (it was %s %d:%d)", file, owner.UID, owner.GID, op.Expect.Mode, op.Expect.UID, op.Expect.GID)
	}
	return nil
}

// parseKeys reads the key file given on the command line: public keys
// only, every line one sshd accepts. A key's data must be base64 whose
// first field (an SSH wire string) names the key's type, so that a
// truncated or mistyped paste is caught here rather than by a login that
// fails later.
func parseKeys(data []byte) ([]authkeys.Key, error) {
	if bytes.Contains(data, []byte("PRIVATE KEY-----")) {
		return nil, errors.New("the key file holds a private key: give the public key (the .pub file)")
	}
	f := authkeys.Parse(data)
	if len(f.Bad) > 0 {
		return nil, fmt.Errorf("the key file, line %d: not a public key (want \"[options] type base64 [comment]\")", f.Bad[0])
	}
	for _, k := range f.Keys {
		raw, err := base64.StdEncoding.DecodeString(k.Blob)
		if err != nil {
			return nil, fmt.Errorf("the key file, line %d: the key data is not base64: %v", k.Line, err)
		}
		if name, ok := wireString(raw); !ok || name != k.Type || !strings.Contains(k.Type, "-cert-") && !wholeStrings(raw) {
			return nil, fmt.Errorf("the key file, line %d: the key data is not a %s key (truncated or mistyped)", k.Line, k.Type)
		}
	}
	if len(f.Keys) == 0 {
		return nil, errors.New("the key file holds no public key")
	}
	return f.Keys, nil
}

// wholeStrings reports whether b is two or more complete SSH wire strings
// and nothing else, as every plain public key blob is (the type name,
// then the key's fields): a truncated paste is not.
func wholeStrings(b []byte) bool {
	n := 0
	for len(b) > 0 {
		if len(b) < 4 {
			return false
		}
		l := uint64(binary.BigEndian.Uint32(b))
		if l > uint64(len(b)-4) {
			return false
		}
		b = b[4+l:]
		n++
	}
	return n >= 2
}

// wireString reads the first SSH wire-format string (uint32 length and
// bytes) of b.
func wireString(b []byte) (string, bool) {
	if len(b) < 4 {
		return "", false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return "", false
	}
	return string(b[4 : 4+n]), true
}

func ptr[T any](v T) *T { return &v }

// tally clears the user's count of failed logins where it survives a
// reboot: pam_tally2's /var/log/tallylog (EL7) keeps it on disk, and an
// account past deny=N stays refused ("Account locked due to N failed
// logins") whatever its password. pam_faillock keeps its counts under
// /var/run, which a boot empties.
func (p *planner) tally() {
	st, err := repair.ReadState(p.root, tallylog)
	if err != nil || st.Type != repair.File {
		return
	}
	// struct tallylog: fail_line[52], reserved u16, fail_cnt u16,
	// fail_time u64; one record per uid, at uid*64.
	const rec = 64
	off := int64(p.acct.uid) * rec
	if off+rec > st.Size {
		return
	}
	if st.Size > 16<<20 {
		p.note("%s is %d bytes (sparse, for large uids): clear %s's failed-login count with pam_tally2 -r -u %s after boot if logins are refused as locked", tallylog, st.Size, p.acct.name, p.acct.name)
		return
	}
	data, err := p.root.ReadFileLimit(tallylog, 16<<20)
	if err != nil || int64(len(data)) < off+rec {
		return
	}
	cnt := binary.LittleEndian.Uint16(data[off+54:])
	if cnt == 0 {
		return
	}
	out := slices.Clone(data)
	clear(out[off : off+rec])
	p.b.Add(repair.WriteFile(p.root, tallylog, out))
	p.change("clear %s's %d failed logins in %s (pam_tally2 refuses the account past its deny= limit)", p.acct.name, cnt, tallylog)
}

// noLogin are shells that refuse an interactive login.
var noLogin = map[string]bool{
	"/sbin/nologin": true, "/usr/sbin/nologin": true, "/bin/false": true, "/usr/bin/false": true, "/sbin/shutdown": true, "/sbin/halt": true,
}

func (p *planner) shellNote() {
	sh := p.acct.shell
	if sh == "" {
		sh = "/bin/sh"
	}
	if noLogin[sh] {
		p.note("%s's shell is %s, which refuses interactive logins: the new credentials are accepted, then the session ends (change the shell with usermod -s after boot, or choose another user)", p.acct.name, sh)
		return
	}
	if fi, err := p.root.Stat(sh); err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		p.note("%s's shell %s is missing or empty: the login is accepted and the session ends at once (rescue scan reports it)", p.acct.name, sh)
	}
}

// sshdNotes says where sshd's policy will still refuse the new
// credentials. Policy is not changed by an access reset.
func (p *planner) sshdNotes() {
	if p.sshd == nil {
		if p.o.Keys != nil {
			p.note("%s is missing or unreadable: the key is in place for when sshd runs", sshdConfig)
		}
		return
	}
	arg := func(key, def string) (string, string) {
		if d := p.sshd.First(key); d != nil && len(d.Args) > 0 {
			return strings.ToLower(d.Args[0]), d.Where()
		}
		return def, "the default"
	}
	if p.acct.uid == 0 {
		prl, where := arg("permitrootlogin", "prohibit-password")
		switch {
		case prl == "no":
			p.note("sshd refuses root (PermitRootLogin no, %s): the new credentials work on the console only", where)
		case p.o.PasswordHash != "" && (prl == "prohibit-password" || prl == "without-password" || prl == "forced-commands-only"):
			p.note("sshd refuses passwords for root (PermitRootLogin %s, %s): the new password works on the console; use a key over SSH", prl, where)
		}
	}
	if p.o.PasswordHash != "" {
		pa, where := arg("passwordauthentication", "yes")
		kbd, _ := arg("kbdinteractiveauthentication", "")
		if kbd == "" {
			kbd, _ = arg("challengeresponseauthentication", "yes")
		}
		if pa == "no" && (kbd == "no" || !p.usePAM()) {
			p.note("sshd refuses passwords (PasswordAuthentication no, %s): the new password works on the console; use a key over SSH", where)
		}
	}
	if p.o.Keys != nil {
		if pk, where := arg("pubkeyauthentication", "yes"); pk == "no" {
			p.note("sshd does not accept keys (PubkeyAuthentication no, %s): the key is in place but unused", where)
		}
	}
	for _, key := range []string{"allowusers", "allowgroups", "denyusers", "denygroups", "authenticationmethods"} {
		for _, d := range p.sshd.Global(key) {
			p.note("%s: %s applies to SSH logins (rescue scan reports it when it refuses every account)", d.Where(), strings.TrimSpace(d.Raw))
		}
	}
}
