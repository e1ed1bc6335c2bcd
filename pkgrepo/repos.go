// Package pkgrepo gets the exact package a target has installed from the
// repositories the target itself is configured with (apt's sources, yum's,
// dnf's and zypper's .repo files) or from mirrors the operator names, so
// that a damaged file can be restored when no package file is at hand.
//
// Trust: a package is used only when its digest matches repository
// metadata whose chain was checked: InRelease (or Release and
// Release.gpg) → Packages → .deb for apt, repomd.xml → primary.xml → .rpm
// for rpm-md. Signatures are checked with the target's own keys (apt's
// trusted.gpg.d and Signed-By, the .repo files' gpgkey=file://…); where
// they cannot be, the restore still writes only bytes whose digest the
// target's package database records (pkgdb checks that), and the plan says
// which checks were made.
//
// Network: plain HTTP(S) with the proxy environment variables, a stall
// timeout, retries, and resumable downloads into a cache on the helper
// (never inside the target). Offline, only the cache is used.
package pkgrepo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"rescue/parse/aptsources"
	"rescue/parse/osrelease"
	"rescue/parse/repofile"
	"rescue/pkgdb"
	"rescue/sysroot"
)

// DefaultCacheDir is where downloads are kept on the helper.
const DefaultCacheDir = "/var/cache/rescue"

// Options configure repository access.
type Options struct {
	// Mirrors replace the target's repository URLs: for apt, archive
	// roots used with the suites and components the target names; for
	// rpm, repository URLs (the directory holding repodata/), with
	// $releasever, $basearch and $contentdir expanded from the target.
	Mirrors []string
	// CacheDir holds downloads (DefaultCacheDir when empty).
	CacheDir string
	// Offline forbids the network: only the cache is used.
	Offline bool
	// Mode says how far Fetch goes: Describe (a scan: no network at all),
	// Resolve (a dry run: metadata only; the package is located, not
	// downloaded) or Download (fix --apply).
	Mode Mode
	// Timeout is how long a connection may make no progress (30s when
	// zero); Retries how often a failed download is tried (3).
	Timeout time.Duration
	Retries int
	// Client replaces the HTTP client (tests).
	Client *http.Client
	// Progress, when set, is told of download progress.
	Progress func(what string, done, total int64)
	Log      *slog.Logger
}

// Mode is how far Fetch goes.
type Mode int

// The modes, from a scan to an apply.
const (
	Describe Mode = iota
	Resolve
	Download
)

// Repos is a target's repositories.
type Repos struct {
	root *sysroot.Root
	kind string
	opt  Options
	dl   *downloader
	arch string          // the target's native architecture (dpkg's, or rpm's basearch)
	want map[string]bool // installed package names: the index entries worth keeping
	apt  []*aptRepo
	rpm  []*rpmRepo
	// vaultApt and vaultRPM are the documented archives tried last.
	vaultApt []*aptRepo
	vaultRPM []*rpmRepo
	// notes say what was found in the configuration (unreadable files,
	// the vault fallback).
	notes []string

	mu          sync.Mutex
	releases    map[string]*release
	indexes     map[string]*index
	indexChecks map[string]string
	repomds     map[*rpmRepo]*repomd
	primaries   map[string]*primaryIndex
	fetched     map[string]fetchResult
}

type fetchResult struct {
	f   *pkgdb.Fetched
	err error
}

// New reads the target's repository configuration for its package family
// (db.Kind()).
func New(root *sysroot.Root, db pkgdb.DB, osInfo osrelease.Info, opt Options) *Repos {
	if opt.CacheDir == "" {
		opt.CacheDir = DefaultCacheDir
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	r := &Repos{root: root, kind: db.Kind(), opt: opt, dl: newDownloader(opt), want: map[string]bool{},
		releases: map[string]*release{}, indexes: map[string]*index{}, indexChecks: map[string]string{},
		repomds: map[*rpmRepo]*repomd{}, primaries: map[string]*primaryIndex{}, fetched: map[string]fetchResult{}}
	for _, p := range db.Packages() {
		r.want[p.Name] = true
	}
	r.arch = nativeArch(db)
	if r.kind == "dpkg" {
		r.apt = r.aptConfig(osInfo)
	} else {
		r.rpm = r.rpmConfig(osInfo)
	}
	// A vault is the last resort for what the mirrors dropped; with
	// --mirror the operator chose where packages come from.
	if len(opt.Mirrors) == 0 && !opt.Offline {
		if r.kind == "dpkg" {
			r.vaultApt = r.vaultAptRepos(osInfo)
		} else {
			r.vaultRPM = r.vaultRPMRepos(osInfo)
		}
	}
	return r
}

// nativeArch is the architecture of the package manager's own package:
// dpkg's (amd64), or rpm's base architecture (x86_64).
func nativeArch(db pkgdb.DB) string {
	counts := map[string]int{}
	for _, p := range db.Packages() {
		switch p.Name {
		case "dpkg", "rpm", "glibc", "libc6":
			if p.Arch != "" {
				return baseArch(p.Arch)
			}
		}
		if p.Arch != "" && p.Arch != "all" && p.Arch != "noarch" {
			counts[p.Arch]++
		}
	}
	best := ""
	for a, n := range counts {
		if best == "" || n > counts[best] || (n == counts[best] && a < best) {
			best = a
		}
	}
	return baseArch(best)
}

// baseArch maps an rpm architecture to yum's $basearch.
func baseArch(a string) string {
	switch a {
	case "i386", "i486", "i586", "i686", "athlon":
		return "i386"
	case "armv7hl", "armv7hnl":
		return "armhfp"
	}
	return a
}

// Sources describes where Fetch looks, in order, for plans and messages.
func (r *Repos) Sources() []string {
	var out []string
	for _, a := range r.apt {
		out = append(out, fmt.Sprintf("%s (%s)", a, a.where))
	}
	for _, m := range r.rpm {
		out = append(out, fmt.Sprintf("%s (%s)", m, m.where))
	}
	for _, a := range r.vaultApt {
		out = append(out, fmt.Sprintf("%s (%s)", a, a.where))
	}
	for _, m := range r.vaultRPM {
		out = append(out, fmt.Sprintf("%s (%s)", m, m.where))
	}
	return out
}

// Notes are what reading the configuration found worth saying.
func (r *Repos) Notes() []string { return r.notes }

// ErrNoRepository is returned when the target configures no repository
// and no mirror was given.
var ErrNoRepository = errors.New("no repository: the target configures none (give one with --mirror)")

// Fetch finds the exact installed version of pkg for the target's
// architecture in the repositories, in order, and downloads it into the
// cache (or, without Options.Download, only resolves where it is). The
// error lists what was tried.
func (r *Repos) Fetch(ctx context.Context, pkg pkgdb.Package) (*pkgdb.Fetched, error) {
	key := pkg.ID + " " + pkg.Version
	r.mu.Lock()
	if fr, ok := r.fetched[key]; ok {
		r.mu.Unlock()
		return fr.f, fr.err
	}
	r.mu.Unlock()
	f, err := r.fetch(ctx, pkg)
	r.mu.Lock()
	r.fetched[key] = fetchResult{f, err}
	r.mu.Unlock()
	return f, err
}

func (r *Repos) fetch(ctx context.Context, pkg pkgdb.Package) (*pkgdb.Fetched, error) {
	if len(r.apt) == 0 && len(r.rpm) == 0 {
		return nil, ErrNoRepository
	}
	if r.opt.Mode == Describe {
		return nil, fmt.Errorf("a scan downloads nothing; rescue fix finds %s in %s", pkg, strings.Join(r.Sources(), ", "))
	}
	var f *pkgdb.Fetched
	var tried []error
	if r.kind == "dpkg" {
		f, tried = r.fetchDeb(ctx, pkg, r.apt)
		if f == nil && len(r.vaultApt) > 0 {
			var more []error
			f, more = r.fetchDeb(ctx, pkg, r.vaultApt)
			tried = append(tried, more...)
		}
	} else {
		f, tried = r.fetchRPM(ctx, pkg, r.rpm)
		if f == nil && len(r.vaultRPM) > 0 {
			var more []error
			f, more = r.fetchRPM(ctx, pkg, r.vaultRPM)
			tried = append(tried, more...)
		}
	}
	if f != nil {
		return f, nil
	}
	return nil, &NotFoundError{Package: pkg, Tried: tried}
}

// NotFoundError says that no repository had the package, and what each
// said.
type NotFoundError struct {
	Package pkgdb.Package
	Tried   []error
}

func (e *NotFoundError) Error() string {
	var s []string
	for _, t := range e.Tried {
		s = append(s, t.Error())
	}
	return fmt.Sprintf("no repository provides %s: %s", e.Package, strings.Join(s, "; "))
}

func (e *NotFoundError) Unwrap() []error { return e.Tried }

// aptConfig reads sources.list, sources.list.d/*.list and *.sources.
func (r *Repos) aptConfig(osInfo osrelease.Info) []*aptRepo {
	var srcs []aptsources.Source
	var wheres []string
	add := func(file string, parse func([]byte) ([]aptsources.Source, []error)) {
		data, err := r.root.ReadFileLimit(file, 4<<20)
		if err != nil {
			return
		}
		s, problems := parse(data)
		for _, p := range problems {
			r.notes = append(r.notes, fmt.Sprintf("%s: %v", file, p))
		}
		for _, src := range s {
			srcs = append(srcs, src)
			wheres = append(wheres, fmt.Sprintf("%s:%d", file, src.Line))
		}
	}
	add("/etc/apt/sources.list", aptsources.ParseList)
	for _, f := range keyDir(r.root, "/etc/apt/sources.list.d", ".list") {
		add(f, aptsources.ParseList)
	}
	for _, f := range keyDir(r.root, "/etc/apt/sources.list.d", ".sources") {
		add(f, aptsources.ParseDeb822)
	}
	var out []*aptRepo
	seen := map[string]bool{}
	for i, s := range srcs {
		if !s.Enabled || !contains(s.Types, "deb") {
			continue
		}
		if archs := s.Archs(); len(archs) > 0 && !contains(archs, r.arch) {
			continue
		}
		for _, u := range s.URIs {
			if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
				r.notes = append(r.notes, fmt.Sprintf("%s: %s is not an http(s) repository; skipped", wheres[i], u))
				continue
			}
			for _, suite := range s.Suites {
				a := &aptRepo{uri: strings.TrimSuffix(u, "/"), suite: suite, components: s.Components, signedBy: s.SignedBy(),
					trusted: strings.EqualFold(s.Options["trusted"], "yes"), where: wheres[i]}
				if !seen[a.String()] {
					seen[a.String()] = true
					out = append(out, a)
				}
			}
		}
	}
	if len(r.opt.Mirrors) == 0 {
		return out
	}
	// A mirror carries the same suites under another URL.
	type suite struct {
		name  string
		comps []string
		from  *aptRepo
	}
	var suites []suite
	seenSuite := map[string]bool{}
	for _, a := range out {
		k := a.suite + " " + strings.Join(a.components, " ")
		if !seenSuite[k] {
			seenSuite[k] = true
			suites = append(suites, suite{a.suite, a.components, a})
		}
	}
	if len(suites) == 0 && osInfo.Fields["VERSION_CODENAME"] != "" {
		suites = append(suites, suite{osInfo.Fields["VERSION_CODENAME"], []string{"main"}, nil})
		r.notes = append(r.notes, fmt.Sprintf("the target names no apt source: the mirrors are asked for %s main (VERSION_CODENAME of os-release)", osInfo.Fields["VERSION_CODENAME"]))
	}
	var mirrored []*aptRepo
	for _, m := range r.opt.Mirrors {
		for _, s := range suites {
			a := &aptRepo{uri: strings.TrimSuffix(m, "/"), suite: s.name, components: s.comps, where: "--mirror"}
			if s.from != nil {
				a.signedBy, a.trusted = s.from.signedBy, s.from.trusted
				a.where = "--mirror, suite of " + s.from.where
			}
			mirrored = append(mirrored, a)
		}
	}
	return mirrored
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// rpmConfig reads yum/dnf's and zypper's .repo files.
func (r *Repos) rpmConfig(osInfo osrelease.Info) []*rpmRepo {
	vars := r.repoVars(osInfo)
	var out []*rpmRepo
	var allKeys []string
	files := append(keyDir(r.root, "/etc/yum.repos.d", ".repo"), keyDir(r.root, "/etc/zypp/repos.d", ".repo")...)
	files = append(files, "/etc/yum.conf", "/etc/dnf/dnf.conf")
	for _, file := range files {
		data, err := r.root.ReadFileLimit(file, 4<<20)
		if err != nil {
			continue
		}
		repos, problems := repofile.Parse(data)
		for _, p := range problems {
			r.notes = append(r.notes, fmt.Sprintf("%s: %v", file, p))
		}
		for _, rp := range repos {
			if rp.ID == "main" && !strings.Contains(file, "repos.d") {
				continue // yum.conf's and dnf.conf's global options
			}
			if !rp.Bool("enabled", true) {
				continue
			}
			if t := strings.ToLower(rp.Get("type")); t != "" && t != "rpm-md" && t != "rpm" && t != "yum" {
				r.notes = append(r.notes, fmt.Sprintf("%s: [%s] is a %s repository; only rpm-md is read", file, rp.ID, t))
				continue
			}
			m := &rpmRepo{id: rp.ID, where: fmt.Sprintf("%s:%d", file, rp.Line), repoGPG: rp.Bool("repo_gpgcheck", false), gpgCheck: rp.Bool("gpgcheck", false)}
			for _, u := range rp.List("baseurl") {
				u = expandVars(u, vars)
				if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
					m.baseurls = append(m.baseurls, strings.TrimSuffix(u, "/")+"/")
				}
			}
			m.mirrorlist = expandVars(rp.Get("mirrorlist"), vars)
			m.metalink = expandVars(rp.Get("metalink"), vars)
			for _, k := range rp.List("gpgkey") {
				if p, ok := strings.CutPrefix(expandVars(k, vars), "file://"); ok {
					m.gpgkeys = append(m.gpgkeys, path.Clean(p))
				}
			}
			allKeys = append(allKeys, m.gpgkeys...)
			if len(m.baseurls) == 0 && m.mirrorlist == "" && m.metalink == "" {
				continue
			}
			out = append(out, m)
		}
	}
	if len(r.opt.Mirrors) == 0 {
		return out
	}
	// A mirror is checked with every key the target trusts for rpm.
	allKeys = append(allKeys, keyDir(r.root, "/etc/pki/rpm-gpg", "")...)
	sort.Strings(allKeys)
	var mirrored []*rpmRepo
	for i, u := range r.opt.Mirrors {
		mirrored = append(mirrored, &rpmRepo{id: fmt.Sprintf("mirror%d", i+1), baseurls: []string{strings.TrimSuffix(expandVars(u, vars), "/") + "/"},
			gpgkeys: uniq(allKeys), where: "--mirror"})
	}
	return mirrored
}

func uniq(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// repoVars are the yum/dnf/zypper variables of the target: $releasever
// (the major version on EL, the whole VERSION_ID on SUSE), $basearch,
// $arch, and every file of /etc/dnf/vars and /etc/yum/vars
// ($contentdir, $stream, …), which override the defaults.
func (r *Repos) repoVars(osInfo osrelease.Info) map[string]string {
	v := map[string]string{"basearch": r.arch, "arch": r.arch}
	rel := osInfo.VersionID
	if osInfo.Family != osrelease.SUSE {
		rel, _, _ = strings.Cut(rel, ".")
	}
	if rel != "" {
		v["releasever"] = rel
		major, minor, _ := strings.Cut(osInfo.VersionID, ".")
		v["releasever_major"], v["releasever_minor"] = major, minor
	}
	for _, dir := range []string{"/etc/yum/vars", "/etc/dnf/vars"} {
		entries, err := r.root.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			data, err := r.root.ReadFileLimit(path.Join(dir, e.Name()), 4096)
			if err != nil {
				continue
			}
			line, _, _ := strings.Cut(string(data), "\n")
			v[e.Name()] = strings.TrimSpace(line)
		}
	}
	return v
}

// expandVars replaces $name and ${name} with their values; unknown
// variables stay as they are.
func expandVars(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		j := i + 1
		brace := j < len(s) && s[j] == '{'
		if brace {
			j++
		}
		k := j
		for k < len(s) && (s[k] == '_' || s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= '0' && s[k] <= '9') {
			k++
		}
		name := s[j:k]
		end := k
		if brace {
			if k >= len(s) || s[k] != '}' {
				b.WriteByte('$')
				continue
			}
			end = k + 1
		}
		if val, ok := vars[name]; ok && name != "" {
			b.WriteString(val)
			i = end - 1
			continue
		}
		b.WriteByte('$')
	}
	return b.String()
}

// Check verifies that the cache directory is not inside the target: a
// download must never land on the disk being repaired.
func CheckCache(root *sysroot.Root, cacheDir string) error {
	c := path.Clean(cacheDir)
	t := path.Clean(root.HostPath())
	if c == t || strings.HasPrefix(c+"/", t+"/") {
		return fmt.Errorf("the download cache %s is inside the target %s; give another with --cache", cacheDir, root.HostPath())
	}
	return nil
}
