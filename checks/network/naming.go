package network

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"rescue/parse/osrelease"
	"rescue/sysroot"
)

// cmdlineFiles hold the kernel command line the target boots with.
var cmdlineFiles = []string{
	"/etc/default/grub", "/etc/kernel/cmdline",
	"/boot/grub2/grub.cfg", "/boot/grub/grub.cfg", "/boot/grub2/grubenv", "/boot/grub/grubenv",
	"/boot/grub/grub.conf", "/boot/grub/menu.lst",
}

var ifnamesRE = regexp.MustCompile(`(^|[\s"'])net\.ifnames=0($|[\s"'])`)

// classicNames reports whether the kernel will name NICs eth0, eth1...:
// always on CentOS 6 and older (no predictable names), and wherever the
// kernel command line has net.ifnames=0, as most cloud images set.
func classicNames(root *sysroot.Root, os osrelease.Info) (bool, string) {
	if m := elMajor(root, os); m > 0 && m <= 6 {
		return true, fmt.Sprintf("release %d of the RHEL family has no predictable interface names", m)
	}
	files := append([]string{}, cmdlineFiles...)
	if m, err := root.Glob("/boot/loader/entries/*.conf"); err == nil {
		files = append(files, m...)
	}
	if m, err := root.Glob("/boot/efi/EFI/*/grub.cfg"); err == nil {
		files = append(files, m...)
	}
	for _, p := range files {
		data, err := root.ReadFileLimit(p, 4<<20)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			t := strings.TrimSpace(line)
			if strings.HasPrefix(t, "#") {
				continue
			}
			if ifnamesRE.MatchString(t) {
				return true, "net.ifnames=0 is on the kernel command line in " + p
			}
		}
	}
	return false, ""
}

var releaseRE = regexp.MustCompile(`release ([0-9]+)`)

// elMajor returns the major version of a RHEL-family system, from
// os-release or, on CentOS 6 and older, /etc/redhat-release.
func elMajor(root *sysroot.Root, os osrelease.Info) int {
	if os.Family != osrelease.RHEL {
		return 0
	}
	if m := os.Major(); m > 0 {
		return m
	}
	data, err := root.ReadFileLimit("/etc/redhat-release", 4096)
	if err != nil {
		return 0
	}
	if m := releaseRE.FindSubmatch(data); m != nil {
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	return 0
}

var disabledRE = regexp.MustCompile(`(?m)^\s*network:\s*\{\s*config:\s*disabled\s*\}|^\s*config:\s*disabled\s*$`)

// cloudInitManagesNetwork reports whether cloud-init is installed and
// writes the network configuration (it does so again for each new
// instance), that is, not disabled with "network: {config: disabled}".
func cloudInitManagesNetwork(root *sysroot.Root) bool {
	installed := false
	for _, p := range []string{"/usr/bin/cloud-init", "/bin/cloud-init"} {
		if root.Exists(p) {
			installed = true
		}
	}
	if !installed {
		return false
	}
	files := []string{"/etc/cloud/cloud.cfg"}
	if m, err := root.Glob("/etc/cloud/cloud.cfg.d/*.cfg"); err == nil {
		files = append(files, m...)
	}
	for _, p := range files {
		data, err := root.ReadFileLimit(p, 1<<20)
		if err == nil && disabledRE.Match(data) {
			return false
		}
	}
	return true
}
