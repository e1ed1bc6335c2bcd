package disk

// The LVM fallback. A linear logical volume is a byte range of its
// physical volume and is reached through a loop device, with no
// device-mapper and without the helper's LVM ever seeing the target's
// volume group (so a VG called centos on both never clashes). Other LVs
// (thin, striped, mirrored, RAID, a linear LV whose segments are not
// contiguous) need device-mapper. When the helper has the LVM tools and a
// device-mapper, rescue attaches the PVs to loop devices and activates
// the VG with the helper's lvm, restricted by a filter to exactly those
// loop devices; read-only sessions activate read-only and forbid metadata
// writes. The VG is deactivated when the session ends.
//
// When the helper has a VG of the same name (the usual case: both disks
// come from the same image), activation would clash. vgimportclone would
// give the target's VG a new name and new UUIDs, written to the target
// disk, which also breaks the target's own fstab and boot loader entries
// (/dev/mapper/centos-root, rd.lvm.lv=centos/root): rescue does not do
// that by itself, and says how to do it by hand.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// dmControl is the device-mapper control node; a variable for tests.
var dmControl = "/dev/mapper/control"

// lvmTool is the LVM command; a variable for tests.
var lvmTool = "lvm"

// LVMRecord is a volume group a session activated.
type LVMRecord struct {
	VG     string       `json:"vg"`
	Config string       `json:"config"`
	Loops  []LoopRecord `json:"loops"`
}

// lvmFallbackAvailable says whether the helper can activate LVs, and why
// not.
func lvmFallbackAvailable() (bool, string) {
	if _, err := exec.LookPath(lvmTool); err != nil {
		return false, "the helper has no LVM tools"
	}
	if _, err := os.Stat(dmControl); err != nil {
		return false, "the helper has no device-mapper"
	}
	return true, ""
}

// activateLVM activates, with the helper's LVM, every volume group of the
// disk that has a visible LV rescue cannot reach as a byte range.
func (s *Session) activateLVM(ctx context.Context) {
	need := map[string]bool{}
	for _, v := range s.Disk.Volumes {
		if v.Kind == KindLV && v.Size == 0 && v.Device == "" {
			need[v.VG] = true
		}
	}
	if len(need) == 0 {
		return
	}
	ok, why := lvmFallbackAvailable()
	for _, vg := range s.Disk.Groups {
		if !need[vg.Name] {
			continue
		}
		if !ok {
			s.noteLVs(vg.Name, why+", so it cannot be activated")
			continue
		}
		if err := s.activateVG(ctx, vg); err != nil {
			s.noteLVs(vg.Name, err.Error())
		}
	}
}

func (s *Session) noteLVs(vg, why string) {
	for _, v := range s.Disk.Volumes {
		if v.Kind == KindLV && v.VG == vg && v.Size == 0 && v.Device == "" {
			v.Problem = joinProblem(v.Problem, why)
		}
	}
	s.Notes = append(s.Notes, fmt.Sprintf("LVM volume group %s: %s", vg, why))
}

func (s *Session) activateVG(ctx context.Context, vg *VolumeGroup) error {
	writable := s.opt.Writable
	// The PVs of this VG that are on this disk.
	var pvVols []*Volume
	for _, pv := range vg.PVs {
		for _, v := range s.Disk.Volumes {
			if v.FS != nil && v.FS.Type == "LVM2_member" && v.FS.UUID == pv.UUID && v.Reachable() {
				pvVols = append(pvVols, v)
			}
		}
	}
	if len(pvVols) < len(vg.PVs) {
		return fmt.Errorf("%d of its %d PVs are not on this disk", len(vg.PVs)-len(pvVols), len(vg.PVs))
	}
	if clash, err := hostHasVG(ctx, vg.Name); err != nil {
		return err
	} else if clash {
		return fmt.Errorf("the helper has a volume group called %s too, so the target's cannot be activated beside it; "+
			"vgimportclone would rename the target's VG on its disk (and break its fstab and boot loader entries), which rescue does not do by itself: "+
			"attach the disk to a helper without a VG of that name, or run vgimportclone --basevgname rescue_%s on its PVs by hand", vg.Name, vg.Name)
	}
	rec := &LVMRecord{VG: vg.Name}
	var filter []string
	for _, v := range pvVols {
		l, err := AttachLoop(s.Disk.Path, v.Offset, v.Size, !writable)
		if err != nil {
			return err
		}
		// The loop device lives as long as device-mapper holds it, and is
		// detached by the kernel after the VG is deactivated.
		defer l.Release()
		rec.Loops = append(rec.Loops, LoopRecord{Device: l.Path, File: s.Disk.Path, Offset: v.Offset, Size: v.Size})
		filter = append(filter, fmt.Sprintf(`"a|^%s$|"`, l.Path))
	}
	filter = append(filter, `"r|.*|"`)
	f := strings.Join(filter, ", ")
	activation := "udev_sync = 0 udev_rules = 0 monitoring = 0"
	global := ""
	if !writable {
		// Read-only: the LVs are read-only devices, and LVM may not write
		// its metadata on the target's PVs either.
		activation += fmt.Sprintf(` read_only_volume_list = [ "%s" ]`, vg.Name)
		global = " global { metadata_read_only = 1 }"
	}
	cfg := fmt.Sprintf(`devices { filter = [ %s ] global_filter = [ %s ] use_devicesfile = 0 obtain_device_list_from_udev = 0 } `+
		`backup { backup = 0 archive = 0 } activation { %s }%s`, f, f, activation, global)
	rec.Config = cfg
	// Record first: a crash after activation must still deactivate.
	s.state.LVM = append(s.state.LVM, *rec)
	if err := s.state.save(); err != nil {
		return err
	}
	if out, err := runLVM(ctx, cfg, "vgchange", "-ay", vg.Name); err != nil {
		deactivate(*rec, s.opt.log())
		return fmt.Errorf("activating it with the helper's LVM failed: %v: %s", err, out)
	}
	for _, v := range s.Disk.Volumes {
		if v.Kind != KindLV || v.VG != vg.Name || v.Size != 0 {
			continue
		}
		dev := MapperName(v.VG, v.LV)
		if _, err := os.Stat(dev); err != nil {
			v.Problem = joinProblem(v.Problem, fmt.Sprintf("activation did not create %s", dev))
			continue
		}
		v.Device, v.Problem = dev, ""
		if sb := probeDevice(dev); sb != nil {
			v.FS = sb
		}
	}
	s.Notes = append(s.Notes, fmt.Sprintf("LVM volume group %s was activated with the helper's LVM (read-only: %v); it is deactivated at unmount", vg.Name, !writable))
	return nil
}

// hostHasVG reports whether the helper's own LVM sees a VG of that name.
func hostHasVG(ctx context.Context, name string) (bool, error) {
	out, err := runLVM(ctx, "devices { use_devicesfile = 0 }", "vgs", "--noheadings", "-o", "vg_name")
	if err != nil {
		return false, fmt.Errorf("listing the helper's volume groups: %v: %s", err, out)
	}
	for _, f := range strings.Fields(out) {
		if f == name {
			return true, nil
		}
	}
	return false, nil
}

func runLVM(ctx context.Context, cfg string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	full := append([]string{args[0], "--config", cfg}, args[1:]...)
	cmd := exec.CommandContext(ctx, lvmTool, full...)
	cmd.Env = append(os.Environ(), "LVM_SUPPRESS_FD_WARNINGS=1", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// deactivate deactivates a VG a session activated.
func deactivate(rec LVMRecord, log interface{ Warn(string, ...any) }) error {
	out, err := runLVM(context.Background(), rec.Config, "vgchange", "-an", rec.VG)
	if err != nil {
		err = fmt.Errorf("deactivating volume group %s: %v: %s", rec.VG, err, out)
		if log != nil {
			log.Warn(err.Error())
		}
		return err
	}
	return nil
}
