package intrusion

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"rescue/checks"
	"rescue/pkgdb"
	"rescue/sysroot"
)

// File is a file an entry names, judged once per scan.
type File struct {
	checks.IndicatorFile
	// Marks are what is suspicious about the file itself.
	Marks []checks.Mark
	// Resolved is the path with every symlink followed (inside the root).
	Resolved string
	// Owned says a package owns the resolved path; Changed that its
	// content no longer matches the package database; Replaced that it
	// changed and is not a configuration file (whose changes are normal).
	Owned, Changed, Replaced bool
	// Cmd is the analysis of the file's content when it is a script.
	Cmd *Command
	// Wallets are wallet addresses the file holds.
	Wallets []string
	// regular says the resolved path is a regular file.
	regular bool
}

// Quarantinable says whether the file may be moved into the journal: it
// is there, no package owns it, and something marks it. A package-owned
// file is never quarantined (a replaced one is restored from its package
// instead), and without a package database nothing in a packaged directory
// is.
func (f *File) Quarantinable(haveDB bool) bool {
	if f == nil || f.Missing || f.Owned || !f.regular {
		return false
	}
	if !haveDB && inPackagedDir(f.Resolved) {
		// Nothing says whether a package installed it: only what the
		// file is (a miner, a dropper's script) counts, not where.
		return slices.ContainsFunc(f.Marks, func(m checks.Mark) bool { return whatMarks[m.Code] })
	}
	return len(f.Marks) > 0
}

// whatMarks are the marks a file has for what it is (its content or
// name), as opposed to where it is or who installed it.
var whatMarks = map[string]bool{
	"miner": true, "miner-config": true, "wallet": true, "kernel-thread-name": true, "download-to-shell": true,
	"base64-to-shell": true, "dev-tcp": true, "reverse-shell": true, "chattr": true, "rootkit": true,
}

// maxHash bounds what is read to hash a file (a miner is a few MiB; a
// multi-gigabyte file in /tmp is hashed up to here and said so).
const maxHash = 512 << 20

// maxArgument bounds the files given as arguments that are read.
const maxArgument = 1 << 20

// maxContent bounds what is read of a file to look inside it.
const maxContent = 32 << 20

// judge looks at one file: where it is, what it is, who installed it, and
// what it holds.
func (e *Engine) judge(p, role string) *File {
	if strings.HasPrefix(p, "PATH:") {
		name := strings.TrimPrefix(p, "PATH:")
		p = ""
		for _, d := range standardPath {
			c := path.Join(d, name)
			if fi, err := e.root.Lstat(c); err == nil && !fi.IsDir() {
				p = c
				break
			}
		}
		if p == "" {
			return nil
		}
	}
	p = sysroot.Clean(p)
	key := role + "\x00" + p
	if f, ok := e.files[key]; ok {
		return f
	}
	f := &File{IndicatorFile: checks.IndicatorFile{Path: p, Role: role}, Resolved: p}
	e.files[key] = f
	fi, err := e.root.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		f.Missing = true
		e.locationMarks(f, p)
		return f
	}
	if err != nil {
		e.pass.Note("%s not examined: %v", p, err)
		return f
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		f.Target, _ = e.root.Readlink(p)
		if r, err := e.root.Resolve(p); err == nil {
			f.Resolved = r
			if rfi, err := e.root.Lstat(r); err == nil {
				fi = rfi
			}
		}
	}
	f.Type = typeName(fi)
	f.Mode = fmt.Sprintf("%04o", fi.Mode().Perm())
	f.UID, f.GID = sysroot.Owner(fi)
	f.MTime = fi.ModTime().UTC()
	if st, ok := fi.Sys().(*unix.Stat_t); ok {
		f.CTime = time.Unix(st.Ctim.Unix()).UTC()
	}
	e.locationMarks(f, p)
	if f.Resolved != p {
		e.locationMarks(f, f.Resolved)
	}
	if !fi.Mode().IsRegular() {
		return f
	}
	f.regular = true
	f.Size = fi.Size()
	if fl, err := e.root.Flags(f.Resolved); err == nil {
		if fl&sysroot.FlagImmutable != 0 {
			f.Flags = append(f.Flags, "immutable")
		}
		if fl&sysroot.FlagAppend != 0 {
			f.Flags = append(f.Flags, "append-only")
		}
		if len(f.Flags) > 0 {
			addMark(&f.Marks, "immutable", fmt.Sprintf("%s is protected with chattr %s, so that not even root can remove it", p, flagText(fl)))
		}
	}
	if f.Role == "argument" && f.Size > maxArgument {
		// Only a small file given as an argument (a configuration) is
		// looked into; a backup archive is not read.
		return f
	}
	head := e.hash(f)
	e.ownership(f)
	if f.Role == "library" && !f.Owned {
		why := fmt.Sprintf("%s is forced into programs (preloaded), and no package installed it", f.Resolved)
		if e.DB() == nil {
			why = fmt.Sprintf("%s is forced into programs (preloaded), and no package database says a package installed it", f.Resolved)
		}
		addMark(&f.Marks, "preload", why)
	}
	if f.Owned && !f.Replaced {
		// A packaged file as the package installed it (or a changed
		// configuration file, which the caller judges line by line): its
		// name and content are the package's business, not a mark.
		f.Marks = dropMarks(f.Marks, "writable-dir", "hidden-dir", "immutable")
		return f
	}
	if f.Role == "script" && startupFile(f.Resolved) {
		// A start-up file sourced by another is judged on its own, line
		// by line (the startup check): its marks are not the sourcing
		// line's.
		return f
	}
	e.contentMarks(f, head)
	return f
}

// startupFile says whether p is a shell start-up file, which the startup
// check judges by itself.
func startupFile(p string) bool {
	return startupDotFiles[path.Base(p)] || strings.HasPrefix(p, "/etc/profile") || strings.HasPrefix(p, "/etc/bash") ||
		strings.HasPrefix(p, "/etc/zsh") || p == "/etc/environment"
}

func typeName(fi fs.FileInfo) string {
	switch {
	case fi.Mode().IsRegular():
		return "file"
	case fi.IsDir():
		return "dir"
	case fi.Mode()&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "other"
}

func flagText(fl uint32) string {
	s := ""
	if fl&sysroot.FlagImmutable != 0 {
		s += "+i"
	}
	if fl&sysroot.FlagAppend != 0 {
		s += "+a"
	}
	return s
}

// hash records the file's sha256 and returns its first maxContent bytes.
func (e *Engine) hash(f *File) []byte {
	r, err := e.root.Open(f.Resolved)
	if err != nil {
		e.pass.Note("%s not read: %v", f.Resolved, err)
		return nil
	}
	defer r.Close()
	h := sha256.New()
	var head bytes.Buffer
	n, err := io.Copy(io.MultiWriter(h, &capped{&head, maxContent}), io.LimitReader(r, maxHash))
	if err != nil {
		e.pass.Note("%s not read: %v", f.Resolved, err)
		return nil
	}
	if n == maxHash {
		e.pass.Note("%s is larger than %d MiB: its sha256 covers the first %d MiB only", f.Resolved, maxHash>>20, maxHash>>20)
	}
	f.SHA256 = hex.EncodeToString(h.Sum(nil))
	return head.Bytes()
}

// capped is a writer that keeps the first n bytes and drops the rest.
type capped struct {
	b *bytes.Buffer
	n int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.n - c.b.Len(); room > 0 {
		c.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// ownership asks the package database about the file.
func (e *Engine) ownership(f *File) {
	db := e.DB()
	if db == nil {
		return
	}
	owners := db.Owners(f.Resolved)
	if len(owners) == 0 && f.Resolved != f.Path {
		owners = db.Owners(f.Path)
	}
	if len(owners) == 0 {
		f.Unowned = true
		if inPackagedDir(f.Resolved) {
			addMark(&f.Marks, "unowned", fmt.Sprintf("no package installed %s, though it is in %s, where the package database says packaged files are", f.Resolved, path.Dir(f.Resolved)))
		}
		return
	}
	f.Owned = true
	var names []string
	for _, o := range owners {
		names = append(names, o.Package)
	}
	f.Package = strings.Join(names, ", ")
	res, err := e.pass.Facts.VerifyPaths(f.Resolved)
	if err != nil {
		e.pass.Note("%s not verified against its package: %v", f.Resolved, err)
		return
	}
	ok := true
	for _, r := range res {
		if r.Failed&(pkgdb.AttrDigest|pkgdb.AttrSize) == 0 || r.Missing {
			continue
		}
		ok = false
		f.Changed = true
		if !r.Config() {
			f.Replaced = true
			addMark(&f.Marks, "replaced", fmt.Sprintf("%s belongs to %s %s, but its content no longer matches the package (%s)", f.Resolved, r.File.Package, r.File.Version, strings.TrimSpace(r.Line())))
		}
	}
	f.Verified = &ok
}

// locationMarks marks a path in a world-writable or hidden place.
func (e *Engine) locationMarks(f *File, p string) {
	if d := e.writableDir(p); d != "" {
		addMark(&f.Marks, "writable-dir", fmt.Sprintf("%s is in %s, a world-writable place where any user or exploited service can write", p, d))
	}
	if h := hiddenPart(p, f.Role); h != "" && !(f.Role == "script" && e.isHome(path.Dir(p)) && h == path.Base(p)) {
		// (A dot-file sourced from a home directory, ~/.fzf.bash or
		// ~/.git-prompt.sh, is how people keep their shell snippets.)
		addMark(&f.Marks, "hidden-dir", fmt.Sprintf("%s is hidden behind the dot-name %s", p, h))
	}
}

// writableDir returns the world-writable directory p is under, or "".
func (e *Engine) writableDir(p string) string {
	for _, d := range writableDirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return d
		}
	}
	for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
		fi, err := e.root.Lstat(d)
		if err != nil || !fi.IsDir() {
			continue
		}
		if fi.Mode().Perm()&0o002 != 0 {
			return d
		}
	}
	return ""
}

// hiddenPart returns the first dot-named element of p that is not an
// ordinary tool directory or start-up file, or "".
func hiddenPart(p, role string) string {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, c := range parts {
		if !strings.HasPrefix(c, ".") || c == "." || c == ".." {
			continue
		}
		if toolDotDirs[c] {
			continue
		}
		if i == len(parts)-1 && startupDotFiles[c] && role == "script" {
			continue
		}
		return c
	}
	return ""
}

func inPackagedDir(p string) bool {
	if underModules(p) || strings.HasPrefix(p, "/lib/modules/") || strings.HasPrefix(p, "/usr/lib/modules/") {
		// Only the kernel's own tree is a package's: DKMS and vendors put
		// their modules in updates/ and extra/.
		return strings.Contains(p, "/kernel/")
	}
	for _, d := range packagedDirs {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return false
}

// contentMarks looks at the name and content of a file no package
// installed as it is.
func (e *Engine) contentMarks(f *File, head []byte) {
	base := path.Base(f.Resolved)
	if m := minerName(base); m != "" {
		addMark(&f.Marks, "miner", fmt.Sprintf("%s is named like the miner %s", f.Resolved, m))
	} else if m := minerName(path.Base(f.Path)); m != "" {
		addMark(&f.Marks, "miner", fmt.Sprintf("%s is named like the miner %s", f.Path, m))
	}
	if mod := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(base, ".xz"), ".zst"), ".gz"), ".ko"); f.Role == "module" && RootkitModule(mod) {
		addMark(&f.Marks, "rootkit", fmt.Sprintf("%s is named like the public kernel rootkit %s", f.Resolved, mod))
	}
	if k := kernelThreadName(f.Resolved); k != "" {
		addMark(&f.Marks, "kernel-thread-name", fmt.Sprintf("%s is named like the kernel thread %s, which has no program file: a disguise", f.Resolved, k))
	}
	if len(head) == 0 {
		return
	}
	low := bytes.ToLower(head)
	for _, p := range poolMarkers {
		if bytes.Contains(low, []byte(p)) {
			addMark(&f.Marks, "miner", fmt.Sprintf("%s names a mining pool (%s)", f.Resolved, strings.TrimSuffix(p, "://")))
			break
		}
	}
	if bytes.HasPrefix(head, []byte("\x7fELF")) {
		if bytes.Contains(low, []byte("xmrig")) || bytes.Contains(low, []byte("randomx")) && bytes.Contains(low, []byte("stratum")) {
			addMark(&f.Marks, "miner", fmt.Sprintf("%s is a miner program (it carries xmrig's or RandomX's strings)", f.Resolved))
		}
		if w := walletRE.Find(head); w != nil {
			f.wallet(string(w))
		}
		return
	}
	if isConfig(head) {
		addMark(&f.Marks, "miner-config", fmt.Sprintf("%s is a miner's configuration (pools, donate-level, RandomX)", f.Resolved))
	}
	if w := walletRE.Find(head); w != nil {
		f.wallet(string(w))
	}
	if bytes.HasPrefix(head, []byte("#!")) || f.Role == "script" {
		if len(head) > maxCommand {
			head = head[:maxCommand]
		}
		f.Cmd = AnalyzeShell(string(head), e.homeOf(f.UID))
		for _, m := range f.Cmd.Marks {
			addMark(&f.Marks, m.Code, fmt.Sprintf("the script %s %s", f.Resolved, m.Why))
		}
	}
}

func (f *File) wallet(w string) {
	addMark(&f.Marks, "wallet", fmt.Sprintf("%s names a Monero wallet (%s…)", f.Resolved, w[:12]))
	addUniq(&f.Wallets, w)
}

// isConfig says whether content looks like an xmrig-style configuration.
func isConfig(head []byte) bool {
	n := 0
	for _, k := range minerConfigKeys {
		if bytes.Contains(head, []byte(k)) {
			n++
		}
	}
	return n >= 2
}

func addMark(list *[]checks.Mark, code, why string) {
	for _, m := range *list {
		if m.Code == code {
			return
		}
	}
	*list = append(*list, checks.Mark{Code: code, Why: why})
}

func dropMarks(list []checks.Mark, codes ...string) []checks.Mark {
	var out []checks.Mark
	for _, m := range list {
		drop := false
		for _, c := range codes {
			drop = drop || m.Code == c
		}
		if !drop {
			out = append(out, m)
		}
	}
	return out
}
