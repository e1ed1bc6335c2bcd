package initramfs

import (
	"bufio"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"rescue/checks"
	"rescue/checks/internal/initrd"
	"rescue/facts"
	"rescue/facts/boot"
	img "rescue/parse/initramfs"
	"rescue/parse/kname"
	"rescue/sysroot"
)

// Check is the initramfs check.
var Check = &checks.Check{
	Name:     "initramfs",
	Doc:      doc,
	Requires: []facts.Fact{facts.BootLoader, facts.BlockDevices, facts.Fstab, facts.OSRelease, facts.MachineInfo},
	Kinds:    []string{"unreadable", "root-fs-module-missing", "disk-driver-missing", "cloud-driver-missing"},
	Reads:    []string{"/boot/initrd.img-*", "/boot/initramfs-*.img", "/lib/modules/*/modules.dep", "/lib/modules/*/modules.builtin", "/usr/lib/modules/*/modules.dep", "/usr/lib/modules/*/modules.builtin", "/etc/initramfs-tools/modules", "/etc/dracut.conf.d/*.conf"},
	Prepare:  prepare,
	Run:      run,
}

// CloudDrivers are the disk drivers of the clouds' instance families, in the
// spelling modprobe and dracut take.
var CloudDrivers = []string{"virtio_blk", "virtio_pci", "virtio_scsi", "nvme", "xen-blkfront"}

// busDrivers maps the name the helper sees the disk under to the drivers
// that name needs.
var busDrivers = map[string][]string{
	"vd":   {"virtio_blk", "virtio_pci"},
	"xvd":  {"xen-blkfront"},
	"nvme": {"nvme"},
}

// modName normalises a module name: the kernel treats - and _ alike.
func modName(s string) string { return strings.ReplaceAll(s, "-", "_") }

func run(pass *checks.Pass) error {
	l, err := pass.Facts.Boot()
	if err != nil {
		return err
	}
	defaults := map[string]bool{}
	for _, cfg := range l.Main() {
		if cfg.Default != nil {
			defaults[cfg.Default.Version] = true
		}
	}
	if len(defaults) == 0 {
		// No boot menu to tell: the newest bootable kernel is what
		// a regenerated one boots.
		for _, k := range l.Kernels {
			if k.Bootable() && !k.Rescue {
				defaults[k.Version] = true
				break
			}
		}
	}
	fsType, fsWhy := rootFSType(pass)
	// The bus the machine boots its root from: what its last boot's
	// kernel log showed, else the name the helper sees the disk under
	// (the same bus, unless the helper is another instance family).
	bus, busWhy := "", ""
	if m := pass.Facts.Machine(); m != nil && m.DiskBus != "" {
		bus, busWhy = m.DiskBus, fmt.Sprintf("the root was on %s at the last boot (%s)", m.Disk, m.DiskBusFrom)
	} else if d := pass.Facts.Devices(); d != nil && d.Root != nil {
		// Only a bus whose drivers are known counts: a SCSI or IDE
		// name says nothing about the cloud drivers the image needs.
		if b := kname.Bus(d.Root.Path); busDrivers[b] != nil {
			bus = b
		}
	}
	if bus == "" {
		pass.Note("the bus the root disk is attached through is not known (no /dev/vd*, /dev/xvd* or /dev/nvme* root device): every missing cloud driver is reported as a warning")
	}
	conf := &confOnce{}
	var list []*imageCheck
	for _, k := range l.Kernels {
		if k.Rescue || k.Initramfs == "" || k.InitramfsSize == 0 {
			// A missing or empty image is the kernels check's.
			continue
		}
		list = append(list, &imageCheck{pass: pass, l: l, k: k, isDefault: defaults[k.Version], fsType: fsType, fsWhy: fsWhy, bus: bus, busWhy: busWhy, conf: conf})
	}
	// The images were unpacked by prepare, while the checks before
	// this one ran; a Run without it (a test calling it alone) unpacks
	// them now.
	loaded, _ := pass.Prepared().(map[string]*loaded)
	if loaded == nil {
		loaded = loadImages(pass.Root, l)
	}
	for _, c := range list {
		c.loaded = loaded[c.k.Initramfs]
		if c.loaded == nil {
			c.loaded = load(pass.Root, c.k)
		}
		c.run()
	}
	return nil
}

// prepare unpacks the initramfs images of every kernel as soon as the scan
// starts: unpacking is most of a scan's CPU time (a Debian image unpacks
// to over a hundred MiB).
func prepare(root *sysroot.Root, f *facts.Facts) any {
	l, err := f.Boot()
	if err != nil {
		return nil
	}
	return loadImages(root, l)
}

// loadImages reads the image and module lists of every kernel, the images
// on every core at once, keyed by the image's path.
func loadImages(root *sysroot.Root, l *boot.Layout) map[string]*loaded {
	out := map[string]*loaded{}
	var mu sync.Mutex
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for _, k := range l.Kernels {
		if k.Rescue || k.Initramfs == "" || k.InitramfsSize == 0 {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ld := load(root, k)
			mu.Lock()
			out[k.Initramfs] = ld
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// confOnce makes only the first rebuild fix of a scan record the drivers in
// the builder's configuration: two fixes writing the same new file would
// conflict in one plan, and the drivers are on each command line anyway.
type confOnce struct{ done bool }

// rootFSType returns the root filesystem's type, from the device list or
// else from fstab.
func rootFSType(pass *checks.Pass) (string, string) {
	if d := pass.Facts.Devices(); d != nil && d.Root != nil && d.Root.Type != "" {
		return d.Root.Type, d.Root.Path
	}
	if f, _ := pass.Facts.Fstab(); f != nil {
		for _, l := range f.Entries() {
			if l.Entry.File == "/" && l.Entry.VfsType != "auto" {
				return l.Entry.VfsType, "/etc/fstab"
			}
		}
	}
	return "", ""
}

type imageCheck struct {
	pass      *checks.Pass
	l         *boot.Layout
	k         *boot.Kernel
	isDefault bool
	fsType    string
	fsWhy     string
	bus       string
	busWhy    string // where bus came from, when not the helper's device name
	conf      *confOnce
	loaded    *loaded
}

// loaded is what was read of one kernel: its initramfs image and the
// module lists of its modules directory.
type loaded struct {
	openErr, listErr   error
	image              *img.Image
	builtin, available map[string]bool
	known              bool
}

// load reads a kernel's image and module lists. It only reads, so that
// the images of several kernels load at once, before the check runs.
func load(root *sysroot.Root, k *boot.Kernel) *loaded {
	ld := &loaded{}
	file, err := root.Open(k.Initramfs)
	if err != nil {
		ld.openErr = err
		return ld
	}
	ld.image, ld.listErr = img.List(bufio.NewReaderSize(file, 1<<20))
	file.Close()
	ld.builtin, ld.available, ld.known = kernelModules(root, k)
	return ld
}

func (c *imageCheck) run() {
	k := c.k
	if c.loaded.openErr != nil {
		c.pass.Note("%s could not be opened: %v", k.Initramfs, c.loaded.openErr)
		return
	}
	image, err := c.loaded.image, c.loaded.listErr
	builtin, available, known := c.loaded.builtin, c.loaded.available, c.loaded.known
	if err != nil {
		sev := checks.Warning
		if c.isDefault {
			sev = checks.Critical
		}
		fd := checks.Finding{
			Kind: "unreadable", Subject: k.Version, Severity: sev, Path: k.Initramfs,
			Message: fmt.Sprintf("%s cannot be read: %v", k.Initramfs, err),
			Impact:  "the kernel fails to unpack it (\"Initramfs unpacking failed\") and cannot mount the root filesystem: kernel panic",
		}
		if k.Modules {
			// What the old image held cannot be told: the new one
			// gets every driver the cloud and the root need.
			var add []string
			for _, d := range append(append([]string{}, CloudDrivers...), fsModule(c.fsType)) {
				if d != "" && !builtin[modName(d)] && available[modName(d)] {
					add = append(add, d)
				}
			}
			fd.AddFix(initrd.Rebuild(c.pass, k, add, !c.conf.done))
			c.conf.done = true
		} else {
			fd.NoFix = "the kernel's modules are missing too; reinstall the kernel package"
		}
		c.pass.Report(fd)
		return
	}
	have := image.Modules()
	if !known {
		c.pass.Note("kernel %s: /lib/modules/%s has no modules.builtin or modules.dep, so built-in and available drivers are not known; %s was not checked", k.Version, k.Version, k.Initramfs)
		return
	}
	inImage := func(m string) bool {
		_, ok := have[modName(m)]
		return ok || builtin[modName(m)]
	}
	var missing, cannot []string
	for _, d := range CloudDrivers {
		switch {
		case inImage(d):
		case available[modName(d)]:
			missing = append(missing, d)
		default:
			cannot = append(cannot, d)
		}
	}
	fsMissing := ""
	if mod := fsModule(c.fsType); mod != "" && !inImage(mod) && !(mod == "ext4" && (inImage("ext3") || inImage("ext2"))) {
		fsMissing = mod
	}
	if len(missing) == 0 && fsMissing == "" {
		return
	}
	// What breaks now, what breaks on another instance type.
	needNow := busDrivers[c.bus]
	var nowMissing []string
	for _, d := range needNow {
		if slices.Contains(missing, d) {
			nowMissing = append(nowMissing, d)
		}
	}
	noDiskDriver := len(missing)+len(cannot) == len(CloudDrivers) && len(missing) > 0
	f := checks.Finding{
		Subject: k.Version, Path: k.Initramfs,
		Evidence: []string{fmt.Sprintf("%s: %d files, %d modules, segments %s", k.Initramfs, len(image.Entries), len(have), segments(image))},
	}
	if len(cannot) > 0 {
		f.Evidence = append(f.Evidence, "not built for kernel "+k.Version+": "+strings.Join(cannot, ", "))
	}
	var why []string
	switch {
	case fsMissing != "":
		f.Kind, f.Severity = "root-fs-module-missing", checks.Critical
		f.Message = fmt.Sprintf("%s lacks the %s module the root filesystem (%s, from %s) needs", k.Initramfs, fsMissing, c.fsType, c.fsWhy)
		f.Impact = "the initramfs finds the root disk but cannot mount it (\"unknown filesystem type\") and stops in its emergency shell"
		if len(missing) > 0 {
			f.Message += fmt.Sprintf(", and the cloud disk drivers %s", strings.Join(missing, ", "))
		}
	case len(nowMissing) > 0:
		f.Kind, f.Severity = "disk-driver-missing", checks.Critical
		f.Message = fmt.Sprintf("%s lacks %s, the driver of the /dev/%s* disk this machine boots from", k.Initramfs, strings.Join(nowMissing, " and "), c.bus)
		f.Impact = "the initramfs never sees the root disk: it waits, then stops in its emergency shell (\"/dev/disk/by-uuid/… does not exist\")"
		if len(missing) > len(nowMissing) {
			f.Message += fmt.Sprintf(" (and %s)", strings.Join(without(missing, nowMissing), ", "))
		}
		if c.busWhy != "" {
			why = append(why, c.busWhy)
		}
	case noDiskDriver:
		f.Kind, f.Severity = "disk-driver-missing", checks.Warning
		f.Message = fmt.Sprintf("%s has none of the cloud disk drivers (%s)", k.Initramfs, strings.Join(missing, ", "))
		f.Impact = "on any virtio, NVMe or Xen instance the initramfs never sees the root disk and stops in its emergency shell"
		if c.bus == "" && c.isDefault {
			why = append(why, "the disk's bus is not known, so this is not rated critical")
		}
	default:
		f.Kind, f.Severity = "cloud-driver-missing", checks.Warning
		f.Message = fmt.Sprintf("%s lacks the cloud disk drivers %s", k.Initramfs, strings.Join(missing, ", "))
		f.Impact = "it boots on this instance type, but moving the disk to another instance family (virtio, NVMe or Xen disks) ends in the initramfs emergency shell"
	}
	if !c.isDefault && f.Severity == checks.Critical {
		f.Severity = checks.Warning
		f.Impact = "kernel " + k.Version + " is not the default; booting it (or falling back to it): " + f.Impact
	}
	f.Evidence = append(f.Evidence, why...)
	add := append([]string{}, missing...)
	if fsMissing != "" {
		add = append(add, fsMissing)
	}
	if k.Modules {
		f.AddFix(initrd.Rebuild(c.pass, k, add, !c.conf.done))
		c.conf.done = true
	} else {
		f.NoFix = "/lib/modules/" + k.Version + " is missing, so no image can be built for this kernel; reinstall the kernel package"
	}
	c.pass.Report(f)
}

func without(all, some []string) []string {
	var out []string
	for _, x := range all {
		if !slices.Contains(some, x) {
			out = append(out, x)
		}
	}
	return out
}

func segments(image *img.Image) string {
	var s []string
	for _, seg := range image.Segments {
		s = append(s, fmt.Sprintf("%s@%d", seg.Compression, seg.Offset))
	}
	return strings.Join(s, ", ")
}

// fsModule is the module a filesystem type needs ("" when none is known).
func fsModule(t string) string {
	switch t {
	case "ext2", "ext3", "ext4":
		return "ext4"
	case "xfs", "btrfs":
		return t
	}
	return ""
}

// kernelModules reads the kernel's modules.builtin and modules.dep (or
// walks its module tree when modules.dep is missing). known is false when
// neither exists: then nothing can be said.
func kernelModules(root *sysroot.Root, k *boot.Kernel) (builtin, available map[string]bool, known bool) {
	builtin, available = map[string]bool{}, map[string]bool{}
	dir := "/lib/modules/" + k.Version
	if !root.Exists(dir) {
		dir = "/usr/lib/modules/" + k.Version
	}
	if data, err := root.ReadFileLimit(dir+"/modules.builtin", 8<<20); err == nil {
		known = true
		for _, line := range strings.Split(string(data), "\n") {
			if n, ok := img.ModuleName(strings.TrimSpace(line)); ok {
				builtin[n] = true
			}
		}
	}
	if data, err := root.ReadFileLimit(dir+"/modules.dep", 64<<20); err == nil && len(data) > 0 {
		known = true
		for _, line := range strings.Split(string(data), "\n") {
			p, _, _ := strings.Cut(line, ":")
			if n, ok := img.ModuleName(strings.TrimSpace(p)); ok {
				available[n] = true
			}
		}
		return builtin, available, known
	}
	// No modules.dep (depmod never ran): look at the files.
	root.Walk(dir+"/kernel", func(name string, fi fs.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if n, ok := img.ModuleName(path.Base(name)); ok {
				available[n] = true
				known = true
			}
		}
		return nil
	})
	return builtin, available, known
}
