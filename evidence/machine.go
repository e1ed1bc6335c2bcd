package evidence

import (
	"regexp"
	"slices"
	"strconv"

	"rescue/parse/kname"
)

// Machine is what a boot's kernel log says about the machine the disk
// booted on, which the disk alone cannot tell: the checks of memory
// settings, of the initramfs's drivers and of network names judge the real
// machine with it. Each value comes with the line it was read from.
type Machine struct {
	// MemoryBytes is the RAM the kernel found ("Memory: 985432K/1048040K
	// available": the second number).
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	MemoryFrom  *Line `json:"memory_from,omitempty"`
	// Disk is the kernel's name of the disk the root filesystem was
	// mounted from (vda, xvda, nvme0n1, sda), and Bus its kind (vd, xvd,
	// nvme, sd).
	Disk     string `json:"disk,omitempty"`
	Bus      string `json:"disk_bus,omitempty"`
	DiskFrom *Line  `json:"disk_from,omitempty"`
	// NICs are the network interfaces the boot named, after udev's
	// renames (eth0 renamed to ens5 is ens5).
	NICs     []string `json:"nics,omitempty"`
	NICsFrom []Line   `json:"nics_from,omitempty"`
}

// Known reports whether the boot told anything about the machine.
func (m *Machine) Known() bool {
	return m != nil && (m.MemoryBytes > 0 || m.Bus != "" || len(m.NICs) > 0)
}

var (
	memoryLine = regexp.MustCompile(`^Memory: (\d+)K/(\d+)K available`)
	// A filesystem mounted from a disk partition: the first is the
	// root (the initramfs mounts it before anything else).
	rootMount = regexp.MustCompile(`^(?:EXT4-fs|EXT3-fs|EXT2-fs) \(([a-z]+[0-9a-z]*)\): mounted filesystem|^XFS \(([a-z]+[0-9a-z]*)\): (?:Mounting V\d|Ending clean mount)|^BTRFS: device .* devid \d+ transid \d+ /dev/([a-z]+[0-9a-z]*)`)
	// A disk the kernel found, for when no mount line names the root.
	diskFound = regexp.MustCompile(`^virtio_blk virtio\d+: (?:\d+/\d+/\d+ default/read/poll queues)?\[?(vd[a-z]+)\]|^sd \d+:\d+:\d+:\d+: \[(sd[a-z]+)\] \d+ \d+-byte|^blkfront: (xvd[a-z]+):|^(nvme\d+n\d+): p\d|^nvme (nvme\d+): pci function`)
	nicRename = regexp.MustCompile(`^(?:\S+ \S+ )?(\w+): renamed from (\w+)`)
	nicFound  = regexp.MustCompile(`^(?:e1000e?|ena|virtio_net|ixgbevf|mlx\d_core|hv_netvsc|gve|vmxnet3|xen_netfront) \S+ (\w+): |^IPv6: ADDRCONF\(NETDEV_(?:UP|CHANGE)\): (\w+): |^(\w+): (?:NIC )?Link is Up|^e1000: (\w+) NIC Link is Up`)
)

// machineReader collects the machine's facts from a boot's kernel lines.
type machineReader struct {
	m       Machine
	disk    string
	diskAt  Line
	names   []string
	renamed map[string]string
	lines   map[string]Line
}

func (r *machineReader) add(l Line) {
	t := l.Text
	if l.Ident != "" && l.Ident != "kernel" {
		return
	}
	if r.m.MemoryBytes == 0 {
		if m := gatedSubmatch(memoryLine, t); m != nil {
			if kib, err := strconv.ParseInt(m[2], 10, 64); err == nil && kib > 0 && kib < 1<<40 {
				r.m.MemoryBytes = kib << 10
				l := l
				r.m.MemoryFrom = &l
			}
		}
	}
	if r.m.Disk == "" {
		if m := gatedSubmatch(rootMount, t); m != nil {
			if d := diskOf(firstOf(m[1:])); d != "" {
				r.m.Disk, r.m.Bus = d, busOf(d)
				l := l
				r.m.DiskFrom = &l
			}
		}
	}
	if r.disk == "" {
		if m := gatedSubmatch(diskFound, t); m != nil {
			r.disk, r.diskAt = firstOf(m[1:]), l
		}
	}
	if m := gatedSubmatch(nicRename, t); m != nil && m[1] != "lo" {
		if r.renamed == nil {
			r.renamed = map[string]string{}
		}
		r.renamed[m[2]] = m[1]
		r.nic(m[1], l)
	} else if m := gatedSubmatch(nicFound, t); m != nil {
		if n := firstOf(m[1:]); n != "" && n != "lo" {
			r.nic(n, l)
		}
	}
}

func (r *machineReader) nic(name string, l Line) {
	if r.lines == nil {
		r.lines = map[string]Line{}
	}
	if !slices.Contains(r.names, name) {
		r.names = append(r.names, name)
		r.lines[name] = l
	}
}

func (r *machineReader) result() Machine {
	m := r.m
	if m.Disk == "" && r.disk != "" {
		d := diskOf(r.disk)
		if d == "" {
			d = r.disk
		}
		m.Disk, m.Bus = d, busOf(d)
		l := r.diskAt
		m.DiskFrom = &l
	}
	for _, n := range r.names {
		if _, gone := r.renamed[n]; gone {
			continue
		}
		m.NICs = append(m.NICs, n)
		m.NICsFrom = append(m.NICsFrom, r.lines[n])
	}
	return m
}

// gatedSubmatch is FindStringSubmatch behind the needles.
func gatedSubmatch(re *regexp.Regexp, s string) []string {
	if !mayMatch(re, s) {
		return nil
	}
	return re.FindStringSubmatch(s)
}

func firstOf(ss []string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// diskOf is the disk a partition is on: vda1 is on vda, nvme0n1p2 on
// nvme0n1. Device-mapper and other names give "", and so do disks of no
// bus the initramfs check knows (mmcblk).
func diskOf(part string) string {
	if d, _, ok := kname.Split(part); ok && busOf(d) != "" {
		return d
	}
	return ""
}

// busOf names the kind of disk by its kernel name: the prefix the
// initramfs check maps to drivers.
func busOf(disk string) string { return kname.Bus("/dev/" + disk) }
