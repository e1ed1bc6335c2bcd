// Package kname reads and writes the names the Linux kernel gives block
// devices: the disk's bus by its prefix (vda on virtio, xvda on Xen, sda on
// SCSI and SATA, hda on old IDE, nvme0n1 on NVMe), and partition names
// (vdb2, but nvme0n1p2 when the disk's name ends in a digit). The disk
// layer names the partitions it finds, fstab and boot-loader checks tell a
// kernel name from a stable one, and the evidence tells the bus the last
// boot's root was on, all through these functions.
package kname

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// buses are the kernel name prefixes that tell a disk's bus.
var buses = []string{"xvd", "vd", "sd", "hd", "nvme"}

// Bus names the kind of disk a /dev path names by its kernel name: "vd",
// "xvd", "sd", "hd", "nvme", or "" for anything else (a tag, a
// /dev/mapper path, an image file).
func Bus(dev string) string {
	for _, pre := range buses {
		if strings.HasPrefix(dev, "/dev/"+pre) {
			return pre
		}
	}
	return ""
}

// IsKernelName reports whether a device spec is a kernel name
// (/dev/sda2, /dev/nvme0n1p2): one that depends on the instance type and
// the attach order.
func IsKernelName(spec string) bool { return Bus(spec) != "" }

// Partition names partition n of a disk as Linux does: vdb2, but
// nvme0n1p2, loop0p2 and mmcblk0p2 when the disk's name ends in a digit.
func Partition(disk string, n int) string {
	base := filepath.Base(disk)
	if base != "" && base[len(base)-1] >= '0' && base[len(base)-1] <= '9' {
		return fmt.Sprintf("%sp%d", disk, n)
	}
	return fmt.Sprintf("%s%d", disk, n)
}

// Split reads a kernel name of a disk or a partition (no /dev/): sda2 and
// vdb are sda and 2, vdb and 0; nvme0n1p2 and mmcblk0p1 are nvme0n1 and 2,
// mmcblk0 and 1 (a number too large to be one is 0). ok is false for anything that is not the name of a sd,
// vd, xvd, hd, nvme or mmcblk disk or partition (md0, loop0, dm-1, a
// mapper name).
func Split(name string) (disk string, part int, ok bool) {
	for _, pre := range []string{"nvme", "mmcblk"} {
		rest, found := strings.CutPrefix(name, pre)
		if !found {
			continue
		}
		// nvme<controller>n<namespace>, mmcblk<n>; then p<part>.
		i := digits(rest)
		if i == 0 {
			return "", 0, false
		}
		if pre == "nvme" {
			if i == len(rest) || rest[i] != 'n' {
				return "", 0, false
			}
			j := digits(rest[i+1:])
			if j == 0 {
				return "", 0, false
			}
			i += 1 + j
		}
		disk, tail := name[:len(pre)+i], rest[i:]
		if tail == "" {
			return disk, 0, true
		}
		if tail[0] != 'p' || digits(tail[1:]) != len(tail)-1 || len(tail) == 1 {
			return "", 0, false
		}
		return disk, number(tail[1:]), true
	}
	for _, pre := range []string{"xvd", "vd", "sd", "hd"} {
		rest, found := strings.CutPrefix(name, pre)
		if !found {
			continue
		}
		i := 0
		for i < len(rest) && rest[i] >= 'a' && rest[i] <= 'z' {
			i++
		}
		if i == 0 || digits(rest[i:]) != len(rest)-i {
			return "", 0, false
		}
		disk := name[:len(pre)+i]
		if i == len(rest) {
			return disk, 0, true
		}
		return disk, number(rest[i:]), true
	}
	return "", 0, false
}

// number reads a partition number; one too large to be one is 0.
func number(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}

// digits counts the ASCII digits s starts with.
func digits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
