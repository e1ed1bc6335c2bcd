package network

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/parse/ifcfg"
	"rescue/repair"
)

// addresses returns the static IPv4 networks an ifcfg file gives its
// device: IPADDR with PREFIX or NETMASK, and the numbered IPADDRn the
// network scripts and NetworkManager also read. A DHCP device has none
// that can be known offline.
func addresses(f *ifcfg.File) []netip.Prefix {
	proto := strings.ToLower(f.Value("BOOTPROTO"))
	if proto == "dhcp" || proto == "bootp" {
		return nil
	}
	var out []netip.Prefix
	for _, n := range []string{"", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"} {
		a, err := netip.ParseAddr(f.Value("IPADDR" + n))
		if err != nil || !a.Is4() {
			continue
		}
		bits := -1
		if p, err := strconv.Atoi(f.Value("PREFIX" + n)); err == nil && p >= 0 && p <= 32 {
			bits = p
		} else if m, err := netip.ParseAddr(f.Value("NETMASK" + n)); err == nil && m.Is4() {
			bits = maskBits(m)
		}
		if bits < 0 {
			// The scripts take the class's mask (ipcalc); a /24 is what
			// such files mean in practice, and too narrow a guess only
			// makes the check say less.
			bits = 24
		}
		if p, err := a.Prefix(bits); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// maskBits returns the prefix length of a contiguous netmask, or -1.
func maskBits(m netip.Addr) int {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	if v != 0 {
		return -1
	}
	return n
}

func onSubnet(nets []netip.Prefix, gw netip.Addr) bool {
	for _, n := range nets {
		if n.Contains(gw) {
			return true
		}
	}
	return false
}

func describe(nets []netip.Prefix) string {
	var s []string
	for _, n := range nets {
		s = append(s, n.String())
	}
	return strings.Join(s, ", ")
}

// onLink returns the devices brought up at boot whose static networks hold
// gw.
func (c *checker) onLink(gw netip.Addr) []*iface {
	var out []*iface
	for _, i := range c.ifaces {
		if i.onboot && !i.slave && onSubnet(addresses(i.file), gw) {
			out = append(out, i)
		}
	}
	return out
}

// gatewaySubnet checks the seed's layout: GATEWAY in /etc/sysconfig/network
// with GATEWAYDEV naming a device whose network does not hold the gateway,
// while another device's does. The scripts run "ip route add default via
// GATEWAY dev GATEWAYDEV", which the kernel refuses ("Nexthop has invalid
// gateway"), so no default route is set. It returns whether it reported.
func (c *checker) gatewaySubnet(data []byte, dev ifcfg.Var) bool {
	gv, ok := ifcfg.Parse(data).Get("GATEWAY")
	if !ok {
		return false
	}
	gw, err := netip.ParseAddr(gv.Value)
	target := c.ifaceFor(dev.Value)
	if err != nil || !gw.Is4() || target == nil {
		return false
	}
	nets := addresses(target.file)
	if len(nets) == 0 || onSubnet(nets, gw) {
		return false
	}
	right := c.onLink(gw)
	f := checks.Finding{
		Kind: "gatewaydev-subnet", Severity: checks.Error, Path: networkFile, Line: dev.Line,
		Message: fmt.Sprintf("GATEWAY=%s is not on the network of GATEWAYDEV=%s (%s)", gw, dev.Value, describe(nets)),
		Impact:  fmt.Sprintf("the network scripts run \"ip route add default via %s dev %s\", which the kernel refuses (Nexthop has invalid gateway): no default route, so the machine is unreachable from other networks (no SSH); the console still works", gw, dev.Value),
		Evidence: []string{
			fmt.Sprintf("%s:%d: %s", networkFile, gv.Line, strings.TrimSpace(gv.Raw)),
			fmt.Sprintf("%s:%d: %s", networkFile, dev.Line, strings.TrimSpace(dev.Raw)),
			fmt.Sprintf("%s: %s", target.path, describe(nets)),
		},
	}
	switch {
	case len(right) == 0:
		// No device holds the gateway's network: an on-link gateway
		// (a /32 address with a route file, NetworkManager's on-link
		// route) may be meant. Nothing certain to say.
		return false
	case len(right) > 1:
		f.NoFix = fmt.Sprintf("several devices have addresses on the network of %s: set GATEWAYDEV to the one that should carry the default route", gw)
		c.pass.Report(f)
		return true
	}
	r := right[0]
	f.Message += fmt.Sprintf("; it is on %s's (%s, %s)", r.dev, describe(addresses(r.file)), r.path)
	f.AddFix(checks.ReplaceLine(c.pass.Root, networkFile, data, dev.Line, "GATEWAYDEV="+r.dev,
		fmt.Sprintf("Set GATEWAYDEV=%s, the device on whose network the gateway %s is", r.dev, gw)))
	f.AddFix(checks.CommentOut(c.pass.Root, networkFile, data, dev.Line, "not the device on the gateway's network",
		fmt.Sprintf("Comment out GATEWAYDEV=%s so that the default route goes through the device the gateway is on", dev.Value)))
	c.pass.Report(f)
	return true
}

// ifcfgGateways checks GATEWAY= in each ifcfg file against that file's own
// network: the scripts add the default route through that device, which
// the kernel refuses when the gateway is not on its network.
func (c *checker) ifcfgGateways() {
	for _, i := range c.ifaces {
		v, ok := i.file.Get("GATEWAY")
		if !ok || !i.onboot || i.slave {
			continue
		}
		gw, err := netip.ParseAddr(v.Value)
		nets := addresses(i.file)
		if err != nil || !gw.Is4() || len(nets) == 0 || onSubnet(nets, gw) {
			continue
		}
		f := checks.Finding{
			Kind: "ifcfg-gateway-subnet", Subject: i.dev, Severity: checks.Error, Path: i.path, Line: v.Line,
			Message:  fmt.Sprintf("GATEWAY=%s in %s is not on %s's network (%s)", gw, i.path, i.dev, describe(nets)),
			Impact:   fmt.Sprintf("bringing up %s, the network scripts run \"ip route add default via %s dev %s\", which the kernel refuses (Nexthop has invalid gateway): no default route, so the machine is unreachable from other networks", i.dev, gw, i.dev),
			Evidence: []string{strings.TrimSpace(v.Raw)},
		}
		right := c.onLink(gw)
		if len(right) == 0 {
			// Maybe an on-link gateway by design (a /32 address): only
			// a gateway that another device's network holds is
			// certainly in the wrong file.
			continue
		}
		if len(right) > 1 {
			f.NoFix = fmt.Sprintf("several devices have addresses on the network of %s: move GATEWAY to the one that should carry the default route", gw)
			c.pass.Report(f)
			continue
		}
		r := right[0]
		f.Message += fmt.Sprintf("; it is on %s's (%s)", r.dev, describe(addresses(r.file)))
		if _, has := r.file.Get("GATEWAY"); has {
			f.AddFix(checks.CommentOut(c.pass.Root, i.path, i.data, v.Line, "not on this device's network",
				fmt.Sprintf("Comment out GATEWAY=%s in %s (%s already names its own gateway)", gw, i.path, r.path)))
		} else {
			lines, nl := checks.Lines(i.data)
			lines[v.Line-1] = checks.Marker + ": moved to " + r.path + ": " + lines[v.Line-1]
			rl, rnl := checks.Lines(r.data)
			rl = append(rl, "GATEWAY="+gw.String())
			f.AddFix(repair.NewFix(fmt.Sprintf("Move GATEWAY=%s from %s to %s, the device on whose network it is", gw, i.path, r.path)).
				Add(repair.WriteFile(c.pass.Root, i.path, checks.JoinLines(lines, nl))).
				Add(repair.WriteFile(c.pass.Root, r.path, checks.JoinLines(rl, rnl))).Build())
		}
		c.pass.Report(f)
	}
}

// stanzaNets returns the IPv4 networks of a static inet stanza: address
// as CIDR, or with netmask.
func stanzaNets(st ifcfg.Stanza) []netip.Prefix {
	if st.Family != "inet" || st.Method != "static" {
		return nil
	}
	var out []netip.Prefix
	for _, o := range st.Options {
		if o.Key != "address" {
			continue
		}
		if p, err := netip.ParsePrefix(o.Value); err == nil && p.Addr().Is4() {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(o.Value)
		if err != nil || !a.Is4() {
			continue
		}
		bits := 24
		if m, _ := st.Option("netmask"); m != "" {
			if n, err := strconv.Atoi(m); err == nil && n >= 0 && n <= 32 {
				bits = n
			} else if ma, err := netip.ParseAddr(m); err == nil && ma.Is4() && maskBits(ma) >= 0 {
				bits = maskBits(ma)
			}
		}
		if p, err := a.Prefix(bits); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// interfacesGateways checks each "gateway" of /etc/network/interfaces
// against its stanza's network: ifup runs "ip route add default via
// GATEWAY dev IFACE", which the kernel refuses off the network. Reported
// when another stanza's network holds the gateway (the line is in the
// wrong stanza), with the fix of moving it there.
func (c *checker) interfacesGateways() {
	type ref struct {
		file *ifupFile
		st   ifcfg.Stanza
	}
	var all []ref
	for i := range c.ifup {
		for _, st := range c.ifup[i].f.Stanzas {
			all = append(all, ref{&c.ifup[i], st})
		}
	}
	for _, r := range all {
		v, line := r.st.Option("gateway")
		gw, err := netip.ParseAddr(v)
		nets := stanzaNets(r.st)
		if err != nil || !gw.Is4() || len(nets) == 0 || onSubnet(nets, gw) {
			continue
		}
		var right []ref
		for _, o := range all {
			if o.st.Name != r.st.Name && onSubnet(stanzaNets(o.st), gw) {
				right = append(right, o)
			}
		}
		if len(right) == 0 {
			continue // maybe on-link by design
		}
		// A warning, as for NetworkManager: ifupdown's static method
		// adds the route with onlink, which the kernel accepts whatever
		// the network. A boot of Debian 12 (e2e row
		// interfaces-gateway-subnet) measured it: networking.service
		// succeeded and every login on the NIC's own network worked.
		f := checks.Finding{
			Kind: "interfaces-gateway-subnet", Subject: r.st.Name, Severity: checks.Warning, Path: r.file.path, Line: line,
			Message: fmt.Sprintf("gateway %s of %s is not on its network (%s)", gw, r.st.Name, describe(nets)),
			Impact: fmt.Sprintf("ifup runs \"ip route add default via %s dev %s onlink\", which the kernel accepts: the default route sends what is meant for other networks out of %s to a gateway that is not on its link, "+
				"where nothing answers unless both interfaces share one, so the machine is unreachable from other networks (logins from its own networks work)", gw, r.st.Name, r.st.Name),
			Evidence: []string{fmt.Sprintf("%s:%d: gateway %s", r.file.path, line, v)},
		}
		if len(right) > 1 {
			f.NoFix = fmt.Sprintf("several interfaces have addresses on the network of %s: move the gateway line to the one that should carry the default route", gw)
			c.pass.Report(f)
			continue
		}
		o := right[0]
		f.Message += fmt.Sprintf("; it is on %s's (%s)", o.st.Name, describe(stanzaNets(o.st)))
		if g, _ := o.st.Option("gateway"); g != "" {
			f.AddFix(checks.CommentOut(c.pass.Root, r.file.path, []byte(r.file.data), line, "not on this interface's network",
				fmt.Sprintf("Comment out gateway %s of %s (%s has its own gateway)", gw, r.st.Name, o.st.Name)))
			c.pass.Report(f)
			continue
		}
		// Move the line: comment it out here, and add it after the last
		// line of the other stanza (in the same file or another).
		after := o.st.Line
		for _, op := range o.st.Options {
			after = max(after, op.Line)
		}
		edit := func(data string, p string) (repair.Op, error) {
			lines, nl := checks.Lines([]byte(data))
			var out []string
			for i, l := range lines {
				if p == r.file.path && i+1 == line {
					l = checks.Marker + ": moved to " + o.st.Name + ": " + l
				}
				out = append(out, l)
				if p == o.file.path && i+1 == after {
					out = append(out, "    gateway "+gw.String())
				}
			}
			return repair.WriteFile(c.pass.Root, p, checks.JoinLines(out, nl))
		}
		b := repair.NewFix(fmt.Sprintf("Move gateway %s from %s to %s, the interface on whose network it is", gw, r.st.Name, o.st.Name))
		b.Add(edit(r.file.data, r.file.path))
		if o.file.path != r.file.path {
			b.Add(edit(o.file.data, o.file.path))
		}
		f.AddFix(b.Build())
		c.pass.Report(f)
	}
}
