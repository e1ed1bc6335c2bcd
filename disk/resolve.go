package disk

import (
	"path"
	"strconv"
	"strings"
)

// Resolve finds the volume an fstab source names: UUID=, LABEL=,
// PARTUUID=, PARTLABEL= (quoted or not) and their /dev/disk/by-* forms,
// /dev/mapper/VG-LV and /dev/VG/LV, and a kernel partition name
// (/dev/sda2, /dev/nvme0n1p2, /dev/xvda2), which is taken by its partition
// number (byNumber is then true: the name depends on the machine, so it
// is a guess worth saying). It returns nil when nothing on the disk
// matches.
func (d *Disk) Resolve(spec string) (v *Volume, byNumber bool) {
	spec = strings.TrimSpace(spec)
	key, val := splitTag(spec)
	if key != "" {
		for _, x := range d.Volumes {
			if matchTag(x, key, val) {
				return x, false
			}
		}
		return nil, false
	}
	if rest, ok := strings.CutPrefix(spec, "/dev/mapper/"); ok {
		for _, x := range d.Volumes {
			if x.Kind == KindLV && MapperName(x.VG, x.LV) == "/dev/mapper/"+rest {
				return x, false
			}
		}
		return nil, false
	}
	if rest, ok := strings.CutPrefix(spec, "/dev/"); ok {
		if vg, lv, ok := strings.Cut(rest, "/"); ok && !strings.Contains(lv, "/") {
			for _, x := range d.Volumes {
				if x.Kind == KindLV && x.VG == vg && x.LV == lv {
					return x, false
				}
			}
		}
		if n := kernelPartNumber(rest); n > 0 && d.Table != nil {
			for _, x := range d.Volumes {
				if x.Partition != nil && x.Partition.Number == n {
					return x, true
				}
			}
		}
	}
	return nil, false
}

// splitTag splits UUID=x and /dev/disk/by-uuid/x into ("UUID", "x").
func splitTag(spec string) (key, val string) {
	for _, k := range []string{"UUID", "LABEL", "PARTUUID", "PARTLABEL"} {
		if v, ok := strings.CutPrefix(spec, k+"="); ok {
			return k, strings.Trim(v, `"'`)
		}
		if v, ok := strings.CutPrefix(spec, "/dev/disk/by-"+strings.ToLower(k)+"/"); ok && v != "" {
			return k, unescapeUdev(v)
		}
	}
	return "", ""
}

// unescapeUdev decodes udev's \x2f escapes in /dev/disk/by-label names.
func unescapeUdev(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func matchTag(v *Volume, key, val string) bool {
	if val == "" {
		return false
	}
	switch key {
	case "UUID":
		return v.FS != nil && v.FS.UUID != "" && strings.EqualFold(v.FS.UUID, val)
	case "LABEL":
		return v.FS != nil && v.FS.Label == val
	case "PARTUUID":
		return v.Partition != nil && strings.EqualFold(v.Partition.PartUUID, val)
	case "PARTLABEL":
		return v.Partition != nil && v.Partition.Name == val
	}
	return false
}

// kernelPartNumber reads the partition number from a kernel device name
// of a partition: sda2, vdb5, xvda1, hda3 → the digits; nvme0n1p2,
// mmcblk0p1 → after the p. It returns 0 for anything else (a whole disk,
// an md device, a loop device).
func kernelPartNumber(name string) int {
	name = path.Base(name)
	for _, prefix := range []string{"nvme", "mmcblk"} {
		if strings.HasPrefix(name, prefix) {
			i := strings.LastIndexByte(name, 'p')
			if i < 0 {
				return 0
			}
			n, err := strconv.Atoi(name[i+1:])
			if err != nil {
				return 0
			}
			return n
		}
	}
	for _, prefix := range []string{"sd", "vd", "xvd", "hd"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			i := 0
			for i < len(rest) && rest[i] >= 'a' && rest[i] <= 'z' {
				i++
			}
			if i == 0 || i == len(rest) {
				return 0
			}
			n, err := strconv.Atoi(rest[i:])
			if err != nil {
				return 0
			}
			return n
		}
	}
	return 0
}
