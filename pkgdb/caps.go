package pkgdb

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// File capabilities, to compare what rpm records (cap_to_text form, e.g.
// "cap_net_raw=ep") with the security.capability attribute on disk, as
// rpm's cap_compare does: the permitted, inheritable and effective sets.

// capSet is a file's capability sets. The kernel keeps one effective bit
// for the whole file; a set effective bit means effective = permitted.
type capSet struct {
	perm, inh, eff uint64
}

var capNames = []string{
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid",
	"cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable",
	"cap_net_bind_service", "cap_net_broadcast", "cap_net_admin", "cap_net_raw",
	"cap_ipc_lock", "cap_ipc_owner", "cap_sys_module", "cap_sys_rawio", "cap_sys_chroot",
	"cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
	"cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease",
	"cap_audit_write", "cap_audit_control", "cap_setfcap", "cap_mac_override",
	"cap_mac_admin", "cap_syslog", "cap_wake_alarm", "cap_block_suspend", "cap_audit_read",
	"cap_perfmon", "cap_bpf", "cap_checkpoint_restore",
}

var capAll = uint64(1)<<len(capNames) - 1

// parseCapText parses libcap's text form: space-separated clauses of a
// comma-separated capability list (empty or "all" for every capability)
// followed by operator/flag groups ("=ep", "+i", "-e").
func parseCapText(s string) (capSet, error) {
	var cs capSet
	for _, clause := range strings.Fields(strings.ToLower(s)) {
		i := strings.IndexAny(clause, "=+-")
		if i < 0 {
			return capSet{}, fmt.Errorf("capability clause %q has no operator", clause)
		}
		var mask uint64
		if list := clause[:i]; list == "" || list == "all" {
			mask = capAll
		} else {
			for _, n := range strings.Split(list, ",") {
				bit := -1
				for j, c := range capNames {
					if c == n {
						bit = j
					}
				}
				if bit < 0 {
					return capSet{}, fmt.Errorf("unknown capability %q", n)
				}
				mask |= 1 << bit
			}
		}
		rest := clause[i:]
		for rest != "" {
			op := rest[0]
			j := 1
			for j < len(rest) && strings.IndexByte("eip", rest[j]) >= 0 {
				j++
			}
			flags := rest[1:j]
			rest = rest[j:]
			if op == '=' {
				cs.perm &^= mask
				cs.inh &^= mask
				cs.eff &^= mask
			}
			for _, f := range flags {
				var set *uint64
				switch f {
				case 'p':
					set = &cs.perm
				case 'i':
					set = &cs.inh
				case 'e':
					set = &cs.eff
				}
				if op == '-' {
					*set &^= mask
				} else {
					*set |= mask
				}
			}
			if op != '=' && op != '+' && op != '-' {
				return capSet{}, fmt.Errorf("bad capability operator %q", op)
			}
		}
	}
	return cs, nil
}

// parseCapXattr decodes a security.capability value (vfs_cap_data,
// revisions 1-3). An empty value means no capabilities.
func parseCapXattr(b []byte) (capSet, error) {
	if len(b) == 0 {
		return capSet{}, nil
	}
	if len(b) < 12 {
		return capSet{}, fmt.Errorf("security.capability of %d bytes", len(b))
	}
	le := binary.LittleEndian
	magic := le.Uint32(b)
	var cs capSet
	cs.perm = uint64(le.Uint32(b[4:]))
	cs.inh = uint64(le.Uint32(b[8:]))
	switch magic &^ 1 {
	case 0x01000000:
	case 0x02000000, 0x03000000:
		if len(b) < 20 {
			return capSet{}, fmt.Errorf("security.capability revision %#x of %d bytes", magic&^1, len(b))
		}
		cs.perm |= uint64(le.Uint32(b[12:])) << 32
		cs.inh |= uint64(le.Uint32(b[16:])) << 32
	default:
		return capSet{}, fmt.Errorf("security.capability with unknown revision %#x", magic&^1)
	}
	if magic&1 != 0 {
		cs.eff = cs.perm | cs.inh
	}
	return cs, nil
}

// capsEqual compares the recorded text with the attribute on disk. rpm
// treats "no capabilities recorded" as the empty set "=".
func capsEqual(text string, xattr []byte) bool {
	want, err := parseCapText(text)
	if err != nil {
		return false
	}
	have, err := parseCapXattr(xattr)
	if err != nil {
		return false
	}
	// The file keeps a single effective bit, so a text effective set is
	// compared as "all of permitted and inheritable" or nothing.
	if want.eff != 0 {
		want.eff = want.perm | want.inh
	}
	return want == have
}

// capXattrOf encodes a capability text ("cap_net_raw=ep") as the
// security.capability value setcap writes (vfs_cap_data revision 2, which
// every kernel since 2.6.25 reads). The empty set gives nil: no attribute.
func capXattrOf(text string) ([]byte, error) {
	cs, err := parseCapText(text)
	if err != nil {
		return nil, err
	}
	if cs.perm == 0 && cs.inh == 0 {
		return nil, nil
	}
	b := make([]byte, 20)
	magic := uint32(0x02000000)
	if cs.eff != 0 {
		magic |= 1
	}
	le := binary.LittleEndian
	le.PutUint32(b, magic)
	le.PutUint32(b[4:], uint32(cs.perm))
	le.PutUint32(b[8:], uint32(cs.inh))
	le.PutUint32(b[12:], uint32(cs.perm>>32))
	le.PutUint32(b[16:], uint32(cs.inh>>32))
	return b, nil
}
