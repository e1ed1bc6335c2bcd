// Package initrd plans rebuilding a kernel's initramfs with the target's
// own builder (dracut, update-initramfs, mkinitrd). The initramfs check
// rebuilds an image that lacks drivers and the kernels check one that is
// missing; both use this package, so that neither check imports the other.
package initrd

import (
	"fmt"
	"path"
	"strings"

	"rescue/checks"
	"rescue/facts/boot"
	"rescue/parse/osrelease"
	"rescue/repair"
)

// tool is the initramfs builder the target has.
type tool struct {
	kind string // "dracut", "update-initramfs", "mkinitrd"
	path string // its resolved path in the target
}

func findTool(pass *checks.Pass) (tool, bool) {
	cands := map[string][]string{
		"dracut":           {"/usr/bin/dracut", "/usr/sbin/dracut", "/sbin/dracut", "/bin/dracut"},
		"update-initramfs": {"/usr/sbin/update-initramfs", "/sbin/update-initramfs", "/usr/bin/update-initramfs"},
		"mkinitrd":         {"/usr/sbin/mkinitrd", "/sbin/mkinitrd", "/usr/bin/mkinitrd"},
	}
	order := []string{"dracut", "update-initramfs", "mkinitrd"}
	if pass.Facts.OS().Family == osrelease.Debian {
		order = []string{"update-initramfs", "dracut", "mkinitrd"}
	}
	for _, kind := range order {
		for _, p := range cands[kind] {
			fi, err := pass.Root.Stat(p)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
				continue
			}
			if real, err := pass.Root.Resolve(p); err == nil {
				return tool{kind: kind, path: real}, true
			}
		}
	}
	return tool{}, false
}

// DracutConf is where the fix records the drivers for dracut's later runs.
const DracutConf = "/etc/dracut.conf.d/rescue-drivers.conf"

// InitramfsToolsModules is initramfs-tools' list of modules to include.
const InitramfsToolsModules = "/etc/initramfs-tools/modules"

// Rebuild plans rebuilding kernel k's initramfs with the target's own
// dracut, update-initramfs or mkinitrd, adding drivers. The command runs in
// a chroot of the target (so apply needs --allow-chroot); the image is
// backed up first and undo restores it. conf says whether to record the
// drivers in the builder's own configuration too, for the images it builds
// later.
func Rebuild(pass *checks.Pass, k *boot.Kernel, drivers []string, conf bool) (repair.Fix, error) {
	t, ok := findTool(pass)
	if !ok {
		return repair.Fix{}, fmt.Errorf("the target has no dracut, update-initramfs or mkinitrd to build an initramfs with")
	}
	image := k.Initramfs
	if image == "" {
		image = k.InitramfsNames[0]
		if t.kind == "dracut" || t.kind == "mkinitrd" {
			image = "/boot/initramfs-" + k.Version + ".img"
		}
	}
	b := repair.NewFix("")
	var argv []string
	switch t.kind {
	case "dracut":
		// Without /etc/dracut.conf.d (dracut ships it) the drivers are
		// only on this command line.
		if len(drivers) > 0 && conf && pass.Root.Exists(path.Dir(DracutConf)) {
			b.Add(writeDracutConf(pass, drivers))
		}
		argv = []string{t.path, "--force"}
		if len(drivers) > 0 {
			argv = append(argv, "--add-drivers", strings.Join(drivers, " "))
		}
		argv = append(argv, image, k.Version)
	case "update-initramfs":
		if len(drivers) > 0 && conf {
			b.Add(appendModules(pass, drivers))
		}
		mode := "-u"
		if k.Initramfs == "" {
			mode = "-c"
		}
		argv = []string{t.path, mode, "-k", k.Version}
	case "mkinitrd":
		argv = []string{t.path, "-f"}
		for _, d := range drivers {
			argv = append(argv, "--with="+d)
		}
		argv = append(argv, image, k.Version)
	}
	b.Add(repair.Exec(pass.Root, argv, image))
	fix, err := b.Build()
	if err != nil {
		return fix, err
	}
	what := "Rebuild"
	if k.Initramfs == "" || k.InitramfsSize == 0 {
		what = "Build"
	}
	fix.Message = fmt.Sprintf("%s %s with the target's %s", what, image, t.kind)
	if len(drivers) > 0 {
		fix.Message += ", adding " + strings.Join(drivers, " ")
	}
	fix.Message += " (runs in a chroot: needs --allow-chroot)"
	return fix, nil
}

func writeDracutConf(pass *checks.Pass, drivers []string) (repair.Op, error) {
	data := []byte("# Written by rescue: the drivers a cloud instance needs to find its root\n" +
		"# disk and mount it, so that every image dracut builds has them (host-only\n" +
		"# images otherwise keep only the drivers of the machine they were built on).\n" +
		"add_drivers+=\" " + strings.Join(drivers, " ") + " \"\n")
	if pass.Root.Exists(DracutConf) {
		return repair.WriteFile(pass.Root, DracutConf, data)
	}
	return repair.CreateFile(pass.Root, DracutConf, data, 0o644, 0, 0)
}

func appendModules(pass *checks.Pass, drivers []string) (repair.Op, error) {
	old, err := pass.Root.ReadFile(InitramfsToolsModules)
	if err != nil {
		old = []byte("# List of modules that you want to include in your initramfs.\n# They will be loaded at boot time in the order below.\n")
	}
	data := append([]byte{}, old...)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	data = append(data, "# Added by rescue: the drivers a cloud instance needs to find its root disk.\n"...)
	for _, d := range drivers {
		data = append(data, d+"\n"...)
	}
	if err != nil {
		return repair.CreateFile(pass.Root, InitramfsToolsModules, data, 0o644, 0, 0)
	}
	return repair.WriteFile(pass.Root, InitramfsToolsModules, data)
}
