package facts

// Machine is what the machine's last boot told about it in its kernel log
// (read by the evidence package from the console capture or the disk's
// logs), for the checks that judge the real machine rather than the disk:
// its RAM, the bus its disk is on, its NICs. Each value says where it came
// from, so that a finding that rests on it can say so.
type Machine struct {
	// Memory is the RAM in bytes (0: unknown).
	Memory     int64
	MemoryFrom string
	// DiskBus is the kind of the root disk by its kernel name ("vd",
	// "xvd", "nvme", "sd"; "": unknown); Disk is that name ("vda").
	DiskBus     string
	Disk        string
	DiskBusFrom string
	// NICs are the network interfaces the boot named (nil: unknown).
	NICs     []string
	NICsFrom string
}

// Machine returns what the last boot told about the machine; nil when no
// log told anything.
func (f *Facts) Machine() *Machine {
	f.note(MachineInfo)
	return f.opt.Machine
}

// MemoryFrom says where Memory came from: "--memory", the boot it was read
// from, or "" when it is unknown.
func (f *Facts) MemoryFrom() string {
	f.note(Memory)
	switch {
	case f.opt.Memory > 0:
		return "--memory"
	case f.opt.Machine != nil && f.opt.Machine.Memory > 0:
		return f.opt.Machine.MemoryFrom
	}
	return ""
}
