package disk

import (
	"path"
	"strings"

	"rescue/parse/devspec"
	"rescue/parse/kname"
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
	if tag := devspec.Parse(spec); tag.IsTag() {
		for _, x := range d.Volumes {
			if tag.Matches(x.ids()) {
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
		if _, n, _ := kname.Split(path.Base(rest)); n > 0 && d.Table != nil {
			for _, x := range d.Volumes {
				if x.Partition != nil && x.Partition.Number == n {
					return x, true
				}
			}
		}
	}
	return nil, false
}

// ids are the identifiers a device spec can name the volume by.
func (v *Volume) ids() devspec.IDs {
	var id devspec.IDs
	if v.FS != nil {
		id.UUID, id.Label = v.FS.UUID, v.FS.Label
	}
	if v.Partition != nil {
		id.PartUUID, id.PartLabel = v.Partition.PartUUID, v.Partition.Name
	}
	return id
}
