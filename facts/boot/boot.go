// Package boot reads what a target boots with: the GRUB configurations
// (GRUB 2 grub.cfg at its BIOS and EFI locations, GRUB Legacy grub.conf),
// the BLS entries and the grubenv they draw variables from,
// /etc/default/grub, and the kernels installed in /boot. It resolves each
// menu entry to the target paths of its kernel and initramfs and to its
// kernel command line, remembering which word of which file every argument
// came from, so that a check can rewrite exactly that word; and it works out
// which entry GRUB boots by default.
//
// Nothing here writes or runs anything: it is the model the grub, kernels
// and initramfs checks (and any check that wants the kernel command line)
// share.
package boot

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"rescue/parse/blkid"
	"rescue/parse/bls"
	"rescue/parse/devspec"
	"rescue/parse/fstab"
	"rescue/parse/grubcfg"
	"rescue/parse/grubdefault"
	"rescue/parse/grubenv"
	"rescue/parse/kver"
	"rescue/parse/osrelease"
	"rescue/sysroot"
)

// Input is what the model is built from.
type Input struct {
	Root  *sysroot.Root
	OS    osrelease.Info
	Fstab *fstab.File // nil when the target has none
	// Devices is the list of filesystems, nil when unknown; RootDev the
	// one holding the target root, nil when unknown.
	Devices []blkid.Device
	RootDev *blkid.Device
}

// Kind of a GRUB configuration.
type Kind string

// The kinds.
const (
	Grub2  Kind = "grub2"
	Legacy Kind = "legacy"
)

// Layout is the boot setup of a target.
type Layout struct {
	in Input
	// SeparateBoot is true when /etc/fstab mounts /boot from its own
	// filesystem: GRUB's paths are then relative to that filesystem.
	SeparateBoot bool
	// BootSpec is the fstab source of /boot ("" when /boot is on /).
	BootSpec string
	// BootDev is the filesystem holding /boot, nil when unknown.
	BootDev *blkid.Device
	// Configs are the GRUB configurations found.
	Configs []*Config
	// Expected are configurations the installed boot loader reads that
	// are missing.
	Expected []Expected
	// BLS are the loader entries, newest kernel first (the order blscfg
	// shows them in).
	BLS []*BLSEntry
	// Envs are the grubenv files found, by target path.
	Envs map[string]*Env
	// Default is /etc/default/grub, nil when absent.
	Default *DefaultGrub
	// Kernels are the kernels in /boot, newest first.
	Kernels []*Kernel
	// Problems are files that exist but could not be read or parsed.
	Problems []Problem
}

// Problem is a file the model could not use.
type Problem struct {
	Path string
	Err  error
}

// Expected is a configuration file the boot loader looks for and does not
// find.
type Expected struct {
	Path string
	Kind Kind
	EFI  bool
	// Why says what shows that this boot loader is installed.
	Why string
}

// Env is a grubenv file.
type Env struct {
	Path string
	Env  *grubenv.Env // nil when the file is not a valid block
	Err  error
	Data []byte
}

// DefaultGrub is /etc/default/grub.
type DefaultGrub struct {
	Path string
	File *grubdefault.File // nil when it could not be parsed
	Err  error
}

// BLSEntry is one /boot/loader/entries/*.conf.
type BLSEntry struct {
	Path    string // target path
	ID      string // file name without .conf: what saved_entry names
	Entry   *bls.Entry
	Version string
	Title   string
}

// Config is one GRUB configuration file.
type Config struct {
	Path string // where it was found
	Real string // the path after following symlinks: the file a repair writes
	Kind Kind
	EFI  bool // on the EFI system partition
	Data []byte

	Grub2    *grubcfg.File
	Legacy   *grubcfg.Legacy
	ParseErr error

	// Empty: no command at all. GRUB stops at its prompt (grub>), GRUB
	// Legacy at its command line.
	Empty bool
	// Stub: the file only hands over to another configuration
	// (configfile/source), as the EFI grub.cfg of Debian and EL9 does.
	Stub bool
	// UsesBLS: the menu is built from BLS entries (blscfg).
	UsesBLS bool
	// Env is the grubenv this configuration loads, nil when none.
	Env *Env

	Entries []*Entry
	// Default is the entry GRUB boots without a key press, nil when the
	// menu is empty.
	Default    *Entry
	DefaultRef DefaultRef
	Searches   []Search
	// Vars are the top-level "set NAME=VALUE" of the file (last wins).
	Vars map[string]VarDef
}

// VarDef is a variable set in a configuration file.
type VarDef struct {
	Value string
	Word  grubcfg.Word
}

// DefaultRef says how the default entry is chosen.
type DefaultRef struct {
	// Value selects the entry: an index, an id, a title or a
	// "submenu>entry" path.
	Value string
	// FromEnv: the value is grubenv's saved_entry (set
	// default="${saved_entry}").
	FromEnv bool
	// Word is the token that sets it in the configuration ("set
	// default=" or GRUB Legacy's "default"), when there is one.
	Word *grubcfg.Word
	// Name is the name the token assigns ("default").
	Name string
	// Fallback: the value matched no entry, so GRUB boots the first.
	Fallback bool
}

// Search is a "search --fs-uuid" (or search.fs_uuid) command.
type Search struct {
	UUID   string
	Word   grubcfg.Word
	Var    string // the variable it sets ("root", "boot", "dev")
	Line   int
	Config *Config
	Entry  *Entry // nil at the top level
	// Fallback: a "set VAR=" of the same variable precedes the search in
	// the same block, so a failed search leaves a partition hint.
	Fallback bool
}

// Entry is one bootable menu entry.
type Entry struct {
	Title string
	ID    string
	// MenuPath selects the entry as a default value: its id (or title),
	// "submenu>entry" inside a submenu, the BLS id for BLS entries.
	MenuPath string
	// TopIndex is the index of the top-level menu item that holds it.
	TopIndex int
	Config   *Config
	BLS      *BLSEntry
	// Source is the file holding the kernel line; Line its line.
	Source string
	Line   int
	// Kernel is the kernel path as GRUB sees it; KernelPath the target
	// path it is at ("" when the entry has no kernel line).
	Kernel      string
	KernelPath  string
	Version     string
	Initrds     []string
	InitrdPaths []string
	// KernelWord and InitrdWords are the words naming them in Source.
	KernelWord  grubcfg.Word
	InitrdWords []grubcfg.Word
	Args        []Arg
	// UnsetVars are variables the command line refers to that nothing
	// defines (they expand to nothing).
	UnsetVars []string
}

// Arg is one kernel argument and where it comes from.
type Arg struct {
	Value string
	// File is the target path of the file holding it; Word the word
	// holding it there (a BLS options line, a set kernelopts= value, a
	// word of a linux line).
	File string
	Word grubcfg.Word
	// Var is the variable it came through ("kernelopts"), "" when
	// written on the kernel line itself.
	Var string
	// Env: it comes from a grubenv variable (File is the grubenv).
	Env bool
}

// RootArg returns the root= argument the kernel uses (the last one), and
// false when there is none.
func (e *Entry) RootArg() (Arg, bool) {
	for i := len(e.Args) - 1; i >= 0; i-- {
		if strings.HasPrefix(e.Args[i].Value, "root=") {
			return e.Args[i], true
		}
	}
	return Arg{}, false
}

// Kernel is one kernel installed in /boot.
type Kernel struct {
	Version string
	Path    string // /boot/vmlinuz-V
	Size    int64
	// Initramfs is the image found ("" when none); InitramfsNames the
	// names it was looked for under.
	Initramfs      string
	InitramfsSize  int64
	InitramfsNames []string
	SystemMap      bool
	Config         bool
	// Modules: /lib/modules/V is a directory that is not empty.
	Modules bool
	// Rescue is EL's vmlinuz-0-rescue-<machine-id>, a copy of a kernel
	// with a generic initramfs and no modules of its own.
	Rescue bool
}

// Missing lists what the kernel lacks, as noun phrases ("its modules
// (/lib/modules/V)").
func (k *Kernel) Missing() []string {
	var out []string
	if k.Size == 0 {
		out = append(out, "a kernel image ("+k.Path+" is empty)")
	}
	switch {
	case k.Initramfs == "":
		out = append(out, "an initramfs ("+k.InitramfsNames[0]+")")
	case k.InitramfsSize == 0:
		out = append(out, "a non-empty initramfs ("+k.Initramfs+" is empty)")
	}
	if k.Rescue {
		return out
	}
	if !k.Modules {
		out = append(out, "its modules (/lib/modules/"+k.Version+")")
	}
	if !k.SystemMap {
		out = append(out, "/boot/System.map-"+k.Version)
	}
	if !k.Config {
		out = append(out, "/boot/config-"+k.Version)
	}
	return out
}

// Bootable reports whether the kernel has what booting needs: a non-empty
// image, a non-empty initramfs and its modules. System.map and config are
// not needed to boot.
func (k *Kernel) Bootable() bool {
	return k.Size > 0 && k.Initramfs != "" && k.InitramfsSize > 0 && (k.Modules || k.Rescue)
}

// Complete reports whether nothing at all is missing.
func (k *Kernel) Complete() bool { return len(k.Missing()) == 0 }

// Load builds the model. It fails only when the target cannot be read at
// all; files it cannot parse are listed in Problems.
func Load(in Input) (*Layout, error) {
	l := &Layout{in: in, Envs: map[string]*Env{}}
	l.bootFS()
	if err := l.loadKernels(); err != nil {
		return nil, err
	}
	l.loadDefault()
	l.loadEnvs()
	l.loadBLS()
	l.loadConfigs()
	l.expect()
	return l, nil
}

// Input returns what the layout was built from.
func (l *Layout) Input() Input { return l.in }

func (l *Layout) problem(p string, err error) {
	l.Problems = append(l.Problems, Problem{Path: p, Err: err})
}

// read returns a file's content, nil with no error when it does not exist.
func (l *Layout) read(p string) ([]byte, error) {
	data, err := l.in.Root.ReadFileLimit(p, 16<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		l.problem(p, err)
		return nil, err
	}
	return data, nil
}

func (l *Layout) bootFS() {
	l.BootDev = l.in.RootDev
	if l.in.Fstab == nil {
		return
	}
	for _, line := range l.in.Fstab.Entries() {
		e := line.Entry
		if e.File != "/boot" || e.HasOption("noauto") || e.HasOption("bind") {
			continue
		}
		l.SeparateBoot = true
		l.BootSpec = e.Spec
		l.BootDev = blkid.Find(l.in.Devices, devspec.Parse(e.Spec))
	}
}

// TargetPath maps a path as GRUB sees it (relative to the filesystem GRUB's
// root is on, with an optional (device) prefix) to a target path.
func (l *Layout) TargetPath(p string) string {
	if strings.HasPrefix(p, "(") {
		if i := strings.IndexByte(p, ')'); i >= 0 {
			p = p[i+1:]
		}
	}
	p = strings.TrimPrefix(p, "$root")
	p = strings.TrimPrefix(p, "${root}")
	if p == "" {
		return ""
	}
	p = path.Clean("/" + p)
	if l.SeparateBoot {
		return path.Join("/boot", p)
	}
	if l.in.Fstab == nil && !strings.HasPrefix(p, "/boot/") && l.in.Root.Exists(path.Join("/boot", p)) {
		// Without an fstab nothing says whether /boot is separate;
		// the file being there under /boot says it is.
		return path.Join("/boot", p)
	}
	return p
}

// BootPath is the inverse of TargetPath: the path GRUB uses for a target
// path under /boot.
func (l *Layout) BootPath(target string) string {
	if l.SeparateBoot {
		if rest, ok := strings.CutPrefix(target, "/boot/"); ok {
			return "/" + rest
		}
	}
	return target
}

// InitramfsNames are the names an initramfs for version v has, by family:
// initrd.img-V (Debian), initramfs-V.img (RHEL, SUSE), initrd-V.img (RHEL
// 5), initrd-V (SUSE).
func InitramfsNames(fam osrelease.Family, v string) []string {
	names := []string{"/boot/initramfs-" + v + ".img", "/boot/initrd.img-" + v, "/boot/initrd-" + v + ".img", "/boot/initrd-" + v}
	if fam == osrelease.Debian {
		names[0], names[1] = names[1], names[0]
	}
	return names
}

func (l *Layout) loadKernels() error {
	entries, err := l.in.Root.ReadDir("/boot")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		v, ok := strings.CutPrefix(e.Name(), "vmlinuz-")
		if !ok || v == "" {
			continue
		}
		p := "/boot/" + e.Name()
		fi, err := l.in.Root.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		k := &Kernel{Version: v, Path: p, Size: fi.Size(), Rescue: strings.HasPrefix(v, "0-rescue-")}
		k.InitramfsNames = InitramfsNames(l.in.OS.Family, v)
		for _, n := range k.InitramfsNames {
			if fi, err := l.in.Root.Stat(n); err == nil && fi.Mode().IsRegular() {
				k.Initramfs, k.InitramfsSize = n, fi.Size()
				break
			}
		}
		k.SystemMap = l.in.Root.Exists("/boot/System.map-" + v)
		k.Config = l.in.Root.Exists("/boot/config-" + v)
		if ents, err := l.in.Root.ReadDir("/lib/modules/" + v); err == nil && len(ents) > 0 {
			k.Modules = true
		} else if ents, err := l.in.Root.ReadDir("/usr/lib/modules/" + v); err == nil && len(ents) > 0 {
			k.Modules = true
		}
		l.Kernels = append(l.Kernels, k)
	}
	slices.SortStableFunc(l.Kernels, func(a, b *Kernel) int {
		// Rescue kernels go last; otherwise newest first.
		if a.Rescue != b.Rescue {
			if a.Rescue {
				return 1
			}
			return -1
		}
		return -kver.Compare(a.Version, b.Version)
	})
	return nil
}

// Kernel returns the installed kernel with the given version, or nil.
func (l *Layout) Kernel(version string) *Kernel {
	for _, k := range l.Kernels {
		if k.Version == version {
			return k
		}
	}
	return nil
}

func (l *Layout) loadDefault() {
	const p = "/etc/default/grub"
	data, err := l.read(p)
	if data == nil && err == nil {
		return
	}
	d := &DefaultGrub{Path: p, Err: err}
	if err == nil {
		d.File, d.Err = grubdefault.Parse(data)
		if d.Err != nil {
			l.problem(p, d.Err)
		}
	}
	l.Default = d
}

// DefaultValue returns a variable of /etc/default/grub ("" when unset or
// unknown).
func (l *Layout) DefaultValue(name string) string {
	if l.Default == nil || l.Default.File == nil {
		return ""
	}
	v, _ := l.Default.File.Get(name)
	return v
}

var envPaths = []string{"/boot/grub2/grubenv", "/boot/grub/grubenv"}

func (l *Layout) loadEnvs() {
	for _, p := range envPaths {
		l.loadEnv(p)
	}
}

func (l *Layout) loadEnv(p string) *Env {
	real, err := l.in.Root.Resolve(p)
	if err != nil {
		return nil
	}
	if e, ok := l.Envs[real]; ok {
		return e
	}
	data, err := l.read(real)
	if data == nil && err == nil {
		return nil
	}
	e := &Env{Path: real, Data: data, Err: err}
	if err == nil {
		e.Env, e.Err = grubenv.Parse(data)
	}
	l.Envs[real] = e
	return e
}

// Env returns the first valid grubenv, or nil.
func (l *Layout) Env() *Env {
	for _, p := range envPaths {
		if real, err := l.in.Root.Resolve(p); err == nil {
			if e := l.Envs[real]; e != nil {
				return e
			}
		}
	}
	return nil
}

func (l *Layout) loadBLS() {
	names, err := l.in.Root.Glob("/boot/loader/entries/*.conf")
	if err != nil {
		return
	}
	for _, p := range names {
		data, err := l.read(p)
		if err != nil || data == nil {
			continue
		}
		e := bls.Parse(data)
		b := &BLSEntry{Path: p, ID: strings.TrimSuffix(path.Base(p), ".conf"), Entry: e, Version: e.Get("version"), Title: e.Get("title")}
		if b.Version == "" {
			b.Version, _ = strings.CutPrefix(path.Base(e.Get("linux")), "vmlinuz-")
		}
		l.BLS = append(l.BLS, b)
	}
	// blscfg sorts newest first (by version, then by id).
	slices.SortStableFunc(l.BLS, func(a, b *BLSEntry) int {
		if c := kver.Compare(a.Version, b.Version); c != 0 {
			return -c
		}
		return -kver.Compare(a.ID, b.ID)
	})
}

// configPaths are where GRUB configurations live.
func (l *Layout) configPaths() []struct {
	p    string
	kind Kind
} {
	type cp = struct {
		p    string
		kind Kind
	}
	out := []cp{{"/boot/grub2/grub.cfg", Grub2}, {"/boot/grub/grub.cfg", Grub2}, {"/boot/grub/grub.conf", Legacy}, {"/boot/grub/menu.lst", Legacy}}
	efi, _ := l.in.Root.Glob("/boot/efi/EFI/*/grub.cfg")
	for _, p := range efi {
		out = append(out, cp{p, Grub2})
	}
	efi, _ = l.in.Root.Glob("/boot/efi/EFI/*/grub.conf")
	for _, p := range efi {
		out = append(out, cp{p, Legacy})
	}
	return out
}

func (l *Layout) loadConfigs() {
	seen := map[string]bool{}
	for _, c := range l.configPaths() {
		real, err := l.in.Root.Resolve(c.p)
		if err != nil || seen[real] {
			continue
		}
		fi, err := l.in.Root.Stat(real)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		seen[real] = true
		data, err := l.read(real)
		if err != nil {
			continue
		}
		cfg := &Config{Path: c.p, Real: real, Kind: c.kind, EFI: strings.HasPrefix(c.p, "/boot/efi/"), Data: data, Vars: map[string]VarDef{}}
		if c.kind == Legacy {
			l.legacy(cfg)
		} else {
			l.grub2(cfg)
		}
		l.Configs = append(l.Configs, cfg)
	}
}

// Main returns the configurations that hold a menu (not stubs, not empty).
func (l *Layout) Main() []*Config {
	var out []*Config
	for _, c := range l.Configs {
		if !c.Stub && !c.Empty {
			out = append(out, c)
		}
	}
	return out
}

func (l *Layout) legacy(cfg *Config) {
	lg := grubcfg.ParseLegacy(cfg.Data)
	cfg.Legacy = lg
	cfg.Empty = lg.Empty()
	for i, le := range lg.Entries {
		e := &Entry{Title: le.Title, MenuPath: strconv.Itoa(i), TopIndex: i, Config: cfg, Source: cfg.Real, Line: le.Line}
		if k := le.Command("kernel"); k != nil && len(k.Words) > 1 {
			e.Line = k.Line
			e.Kernel, e.KernelWord = k.Words[1].Value, k.Words[1]
			e.KernelPath = l.TargetPath(e.Kernel)
			e.Version = versionOf(e.Kernel)
			for _, w := range k.Words[2:] {
				e.Args = append(e.Args, Arg{Value: w.Value, File: cfg.Real, Word: w})
			}
		}
		if r := le.Command("initrd"); r != nil && len(r.Words) > 1 {
			e.Initrds = append(e.Initrds, r.Words[1].Value)
			e.InitrdWords = append(e.InitrdWords, r.Words[1])
			e.InitrdPaths = append(e.InitrdPaths, l.TargetPath(r.Words[1].Value))
		}
		cfg.Entries = append(cfg.Entries, e)
	}
	ref := DefaultRef{Value: "0", Name: "default"}
	if d := lg.Get("default"); d != nil && len(d.Words) > 1 {
		w := d.Words[1]
		ref.Value, ref.Word = w.Value, &w
	}
	cfg.DefaultRef = ref
	cfg.Default = cfg.pick(&cfg.DefaultRef)
}

// versionOf returns V of ".../vmlinuz-V".
func versionOf(kernel string) string {
	v, _ := strings.CutPrefix(path.Base(kernel), "vmlinuz-")
	return v
}

var (
	linuxCmds  = map[string]bool{"linux": true, "linux16": true, "linuxefi": true}
	initrdCmds = map[string]bool{"initrd": true, "initrd16": true, "initrdefi": true}
)

func (l *Layout) grub2(cfg *Config) {
	f, err := grubcfg.Parse(cfg.Data)
	cfg.Grub2, cfg.ParseErr = f, err
	cfg.Empty = f.Empty()
	loadsEnv := false
	blsLine := -1
	handover := false
	for _, c := range f.Top {
		switch c.Name() {
		case "load_env":
			loadsEnv = true
		case "blscfg":
			cfg.UsesBLS = true
			if blsLine < 0 {
				blsLine = c.Line
			}
		case "configfile", "source", "normal":
			handover = true
		}
		if name, val, w, ok := c.Assignment(); ok {
			cfg.Vars[name] = VarDef{Value: val, Word: w}
		}
	}
	if loadsEnv || cfg.UsesBLS {
		// The environment next to the configuration, else the one
		// GRUB's prefix points at.
		cfg.Env = l.loadEnv(path.Join(path.Dir(cfg.Real), "grubenv"))
		if cfg.Env == nil {
			cfg.Env = l.Env()
		}
	}
	cfg.Searches = append(cfg.Searches, searches(cfg, nil, f.Top)...)

	// The menu, with the BLS entries where blscfg runs.
	top := 0
	addBLS := func() {
		for _, b := range l.BLS {
			cfg.Entries = append(cfg.Entries, l.blsEntry(cfg, b, top))
			top++
		}
	}
	blsDone := blsLine < 0
	for _, it := range f.Items {
		if !blsDone && it.Line > blsLine {
			addBLS()
			blsDone = true
		}
		if it.Submenu {
			key := it.ID
			if key == "" {
				key = it.Title
			}
			for _, sub := range it.Items {
				if sub.Submenu {
					continue
				}
				e := l.menuEntry(cfg, sub, top)
				e.MenuPath = key + ">" + e.MenuPath
				cfg.Entries = append(cfg.Entries, e)
			}
		} else {
			cfg.Entries = append(cfg.Entries, l.menuEntry(cfg, it, top))
		}
		top++
	}
	if !blsDone {
		addBLS()
	}
	cfg.Stub = handover && len(cfg.Entries) == 0 && !cfg.UsesBLS
	cfg.DefaultRef = defaultRef(cfg)
	cfg.Default = cfg.pick(&cfg.DefaultRef)
}

// defaultRef finds the last "set default=" that does not pick the one-time
// next_entry.
func defaultRef(cfg *Config) DefaultRef {
	ref := DefaultRef{Value: "0", Name: "default"}
	for _, c := range cfg.Grub2.Top {
		name, val, w, ok := c.Assignment()
		if !ok || name != "default" || strings.Contains(val, "next_entry") {
			continue
		}
		ref = DefaultRef{Value: val, Word: &w, Name: name}
	}
	if strings.Contains(ref.Value, "saved_entry") {
		ref.FromEnv = true
		ref.Value = "0"
		if cfg.Env != nil && cfg.Env.Env != nil {
			if v, ok := cfg.Env.Env.Get("saved_entry"); ok && v != "" {
				ref.Value = v
			}
		}
	}
	return ref
}

// pick resolves a default value to an entry; a value that matches nothing
// makes GRUB boot the first entry.
func (cfg *Config) pick(ref *DefaultRef) *Entry {
	if len(cfg.Entries) == 0 {
		return nil
	}
	if e := cfg.Find(ref.Value); e != nil {
		return e
	}
	ref.Fallback = true
	return cfg.Entries[0]
}

// Find returns the entry a default value selects: an index of the top-level
// menu, an id, a title, or a "submenu>entry" path; nil when none matches.
func (cfg *Config) Find(val string) *Entry {
	if n, err := strconv.Atoi(val); err == nil {
		for _, e := range cfg.Entries {
			if e.TopIndex == n {
				return e
			}
		}
		return nil
	}
	for _, e := range cfg.Entries {
		if e.MenuPath == val {
			return e
		}
	}
	parts := strings.Split(val, ">")
	last := parts[len(parts)-1]
	for _, e := range cfg.Entries {
		if e.ID == last || e.Title == last || (e.BLS != nil && e.BLS.ID == last) {
			return e
		}
	}
	return nil
}

func searches(cfg *Config, e *Entry, cmds []grubcfg.Command) []Search {
	var out []Search
	set := map[string]bool{}
	for _, c := range cmds {
		if name, _, _, ok := c.Assignment(); ok {
			set[name] = true
			continue
		}
		var s Search
		switch c.Name() {
		case "search.fs_uuid":
			if len(c.Words) < 2 {
				continue
			}
			s = Search{UUID: c.Words[1].Value, Word: c.Words[1], Var: "root"}
			if len(c.Words) > 2 {
				s.Var = c.Words[2].Value
			}
		case "search":
			uuid := false
			var word *grubcfg.Word
			v := ""
			for i := 1; i < len(c.Words); i++ {
				w := c.Words[i]
				switch {
				case w.Value == "--fs-uuid" || w.Value == "-u":
					uuid = true
				case w.Value == "--set" || w.Value == "-s" || w.Value == "--hint":
					if i+1 < len(c.Words) {
						if w.Value != "--hint" {
							v = c.Words[i+1].Value
						}
						i++
					}
				case strings.HasPrefix(w.Value, "--set="):
					v = strings.TrimPrefix(w.Value, "--set=")
				case strings.HasPrefix(w.Value, "-"):
				default:
					if word == nil {
						w := w
						word = &w
					}
				}
			}
			if !uuid || word == nil {
				continue
			}
			if v == "" {
				v = "root"
			}
			s = Search{UUID: word.Value, Word: *word, Var: v}
		default:
			continue
		}
		s.Line, s.Config, s.Entry, s.Fallback = s.Word.Line, cfg, e, set[s.Var]
		out = append(out, s)
	}
	return out
}

// lookupVar returns a variable's value for a configuration: grubenv wins
// over the file's own "set" (EL's grub.cfg sets kernelopts only when
// grubenv does not).
func (l *Layout) lookupVar(cfg *Config, name string) (val string, src Arg, ok bool) {
	if cfg.Env != nil && cfg.Env.Env != nil {
		if v, found := cfg.Env.Env.Get(name); found {
			return v, Arg{File: cfg.Env.Path, Var: name, Env: true}, true
		}
	}
	if d, found := cfg.Vars[name]; found {
		return d.Value, Arg{File: cfg.Real, Word: d.Word, Var: name}, true
	}
	return "", Arg{}, false
}

// expand turns the words of a kernel command line into arguments,
// expanding $var and ${var} words.
func (l *Layout) expand(cfg *Config, e *Entry, file string, words []grubcfg.Word) {
	for _, w := range words {
		name, isVar := varName(w.Value)
		if !isVar {
			e.Args = append(e.Args, Arg{Value: w.Value, File: file, Word: w})
			continue
		}
		val, src, ok := l.lookupVar(cfg, name)
		if !ok {
			if !slices.Contains(e.UnsetVars, name) {
				e.UnsetVars = append(e.UnsetVars, name)
			}
			continue
		}
		for _, f := range strings.Fields(val) {
			a := src
			a.Value = f
			e.Args = append(e.Args, a)
		}
	}
}

// varName returns NAME for a word that is exactly $NAME or ${NAME}.
func varName(s string) (string, bool) {
	if n, ok := strings.CutPrefix(s, "${"); ok {
		n, ok = strings.CutSuffix(n, "}")
		return n, ok && n != "" && !strings.ContainsAny(n, "${} ")
	}
	if n, ok := strings.CutPrefix(s, "$"); ok {
		return n, n != "" && !strings.ContainsAny(n, "${} ")
	}
	return "", false
}

func (l *Layout) menuEntry(cfg *Config, it *grubcfg.Item, top int) *Entry {
	e := &Entry{Title: it.Title, ID: it.ID, MenuPath: it.ID, TopIndex: top, Config: cfg, Source: cfg.Real, Line: it.Line}
	if e.MenuPath == "" {
		e.MenuPath = it.Title
	}
	for _, c := range it.Commands {
		switch {
		case linuxCmds[c.Name()] && len(c.Words) > 1:
			e.Line = c.Line
			e.Kernel, e.KernelWord = c.Words[1].Value, c.Words[1]
			e.KernelPath = l.TargetPath(e.Kernel)
			e.Version = versionOf(e.Kernel)
			e.Args = nil
			l.expand(cfg, e, cfg.Real, c.Words[2:])
		case initrdCmds[c.Name()]:
			for _, w := range c.Words[1:] {
				if _, isVar := varName(w.Value); isVar {
					continue
				}
				e.Initrds = append(e.Initrds, w.Value)
				e.InitrdWords = append(e.InitrdWords, w)
				e.InitrdPaths = append(e.InitrdPaths, l.TargetPath(w.Value))
			}
		}
	}
	cfg.Searches = append(cfg.Searches, searches(cfg, e, it.Commands)...)
	return e
}

func (l *Layout) blsEntry(cfg *Config, b *BLSEntry, top int) *Entry {
	e := &Entry{Title: b.Title, ID: b.ID, MenuPath: b.ID, TopIndex: top, Config: cfg, BLS: b, Source: b.Path, Version: b.Version}
	for _, ln := range b.Entry.All("linux") {
		e.Kernel, e.Line = ln.Value, ln.N
		e.KernelWord = grubcfg.Word{Raw: ln.Value, Value: ln.Value, Start: ln.Start, End: ln.End, Line: ln.N}
		e.KernelPath = l.TargetPath(ln.Value)
	}
	for _, ln := range b.Entry.All("initrd") {
		for _, w := range words(ln) {
			if _, isVar := varName(w.Value); isVar {
				continue
			}
			e.Initrds = append(e.Initrds, w.Value)
			e.InitrdWords = append(e.InitrdWords, w)
			e.InitrdPaths = append(e.InitrdPaths, l.TargetPath(w.Value))
		}
	}
	for _, ln := range b.Entry.All("options") {
		l.expand(cfg, e, b.Path, words(ln))
	}
	return e
}

// words splits a BLS value into words with their offsets in the file.
func words(ln bls.Line) []grubcfg.Word {
	val := ln.Value
	off := 0
	var out []grubcfg.Word
	for _, f := range strings.Fields(val) {
		i := strings.Index(val[off:], f) + off
		out = append(out, grubcfg.Word{Raw: f, Value: f, Start: ln.Start + i, End: ln.Start + i + len(f), Line: ln.N})
		off = i + len(f)
	}
	return out
}

// expect lists the configurations an installed boot loader reads that are
// missing.
func (l *Layout) expect() {
	has := func(p string) bool {
		for _, c := range l.Configs {
			if c.Path == p || c.Real == p {
				return true
			}
		}
		return false
	}
	isDir := func(p string) bool {
		fi, err := l.in.Root.Stat(p)
		return err == nil && fi.IsDir()
	}
	add := func(e Expected) {
		for _, x := range l.Expected {
			if x.Path == e.Path {
				return
			}
		}
		l.Expected = append(l.Expected, e)
	}
	legacyInstalled := l.in.Root.Exists("/boot/grub/stage2") || l.in.Root.Exists("/boot/grub/stage1")
	switch {
	case legacyInstalled:
		if !has("/boot/grub/grub.conf") && !has("/boot/grub/menu.lst") {
			add(Expected{Path: "/boot/grub/grub.conf", Kind: Legacy, Why: "GRUB Legacy is installed (/boot/grub/stage2)"})
		}
	default:
		for _, d := range []string{"/boot/grub2", "/boot/grub"} {
			for _, plat := range []string{"i386-pc", "x86_64-efi", "arm64-efi"} {
				if isDir(d+"/"+plat) && !has(d+"/grub.cfg") {
					add(Expected{Path: d + "/grub.cfg", Kind: Grub2, Why: "GRUB 2 is installed (" + d + "/" + plat + ")"})
				}
			}
		}
	}
	// A stub that hands over to a configuration that is not there.
	for _, c := range l.Configs {
		if !c.Stub || c.Grub2 == nil {
			continue
		}
		prefix := c.Vars["prefix"].Value
		for _, d := range []string{"/boot/grub2", "/boot/grub", "/grub2", "/grub"} {
			if strings.HasSuffix(strings.Trim(prefix, "'\""), d) {
				target := d
				if !strings.HasPrefix(d, "/boot") {
					target = "/boot" + d
				}
				if !has(target + "/grub.cfg") {
					add(Expected{Path: target + "/grub.cfg", Kind: Grub2, Why: c.Path + " hands over to it"})
				}
				break
			}
		}
	}
	// EFI loaders without their configuration.
	efis, _ := l.in.Root.Glob("/boot/efi/EFI/*/grub*.efi")
	for _, p := range efis {
		dir := path.Dir(p)
		if strings.EqualFold(path.Base(dir), "BOOT") {
			continue
		}
		if !has(dir+"/grub.cfg") && !has(dir+"/grub.conf") {
			add(Expected{Path: dir + "/grub.cfg", Kind: Grub2, EFI: true, Why: "GRUB for EFI is installed (" + p + ")"})
		}
	}
}
