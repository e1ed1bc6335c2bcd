package network

import (
	"fmt"
	"net/netip"
	"path"
	"strings"

	"rescue/checks"
	"rescue/parse/netplan"
	"rescue/parse/nmkeyfile"
	"rescue/repair"
)

// prefixes reads "ADDR/PREFIX" strings as IPv4 networks; others are
// skipped (IPv6, or not an address).
func prefixes(addrs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(strings.TrimSpace(a)); err == nil && p.Addr().Is4() {
			out = append(out, p.Masked())
		}
	}
	return out
}

// planGateway is a default gateway of a netplan device: gateway4, or a
// route to default via an address (route nil for gateway4).
type planGateway struct {
	gw    netip.Addr
	line  int
	route *netplan.Route
}

func (g planGateway) text() string {
	if g.route == nil {
		return "gateway4: " + g.gw.String()
	}
	return fmt.Sprintf("routes: to %s via %s", g.route.To, g.route.Via)
}

// defaultGateways returns a device's IPv4 default gateways; on-link
// routes are left out (they need no network of their own).
func defaultGateways(d *netplan.Device) []planGateway {
	var out []planGateway
	if a, err := netip.ParseAddr(d.Gateway4); err == nil && a.Is4() {
		out = append(out, planGateway{a, d.Gateway4Line, nil})
	}
	for i := range d.Routes {
		r := &d.Routes[i]
		if a, err := netip.ParseAddr(r.Via); err == nil && a.Is4() && r.Default() && !r.OnLink {
			out = append(out, planGateway{a, r.Line, r})
		}
	}
	return out
}

type planDev struct {
	file *planFile
	dev  *netplan.Device
}

// netplanGateways checks each netplan default gateway against its device's
// static networks. With networkd (netplan's default) the kernel refuses
// the route ("Nexthop has invalid gateway"), so there is no default route;
// NetworkManager instead adds an on-link route to the gateway through the
// device, which works only if the gateway answers on that link. Reported
// when another device's network holds the gateway.
func (c *checker) netplanGateways() {
	var all []planDev
	for i := range c.plan {
		for _, d := range c.plan[i].f.Devices {
			all = append(all, planDev{&c.plan[i], d})
		}
	}
	for _, x := range all {
		nets := prefixes(x.dev.Addresses)
		if len(nets) == 0 || x.dev.DHCP4 {
			continue // a DHCP network cannot be known offline
		}
		for _, g := range defaultGateways(x.dev) {
			if onSubnet(nets, g.gw) {
				continue
			}
			var right []planDev
			for _, o := range all {
				if o.dev != x.dev && onSubnet(prefixes(o.dev.Addresses), g.gw) {
					right = append(right, o)
				}
			}
			if len(right) == 0 {
				continue // maybe on-link by design
			}
			renderer := x.file.f.EffectiveRenderer(x.dev)
			f := checks.Finding{
				Kind: "netplan-gateway-subnet", Subject: x.dev.ID, Severity: checks.Error, Path: x.file.path, Line: g.line,
				Message:  fmt.Sprintf("the default gateway %s of %s is not on its network (%s)", g.gw, x.dev.ID, describe(nets)),
				Impact:   fmt.Sprintf("systemd-networkd (netplan's renderer here) asks for \"default via %s dev %s\", which the kernel refuses (Nexthop has invalid gateway): no default route, so the machine is unreachable from other networks (no SSH); the console still works", g.gw, x.dev.ID),
				Evidence: []string{fmt.Sprintf("%s:%d: %s", x.file.path, g.line, g.text())},
			}
			if strings.EqualFold(renderer, "NetworkManager") {
				f.Severity = checks.Warning
				f.Impact = fmt.Sprintf("NetworkManager (netplan's renderer here) adds an on-link route to %s through %s: the default route works only if %s answers on %s's link, and it is on another device's network", g.gw, x.dev.ID, g.gw, x.dev.ID)
			}
			if len(right) > 1 {
				f.NoFix = fmt.Sprintf("several devices have addresses on the network of %s: move the gateway to the one that should carry the default route", g.gw)
				c.pass.Report(f)
				continue
			}
			o := right[0]
			f.Message += fmt.Sprintf("; it is on %s's (%s, %s)", o.dev.ID, describe(prefixes(o.dev.Addresses)), o.file.path)
			fix, why := c.moveNetplanGateway(x, o, g)
			if why != "" {
				f.NoFix = why
			} else {
				f.AddFix(fix())
			}
			c.pass.Report(f)
		}
	}
}

// moveNetplanGateway comments out the gateway where it is and adds it to
// the device on whose network it is (as gateway4, or as a routes list when
// it was a route), unless that device has a default gateway of its own.
func (c *checker) moveNetplanGateway(from, to planDev, g planGateway) (fix func() (repair.Fix, error), why string) {
	first, last := g.line, g.line
	d := from.dev
	if r := g.route; r != nil {
		first, last = r.Line, r.End
		switch {
		case r.Line == d.RoutesLine && len(d.Routes) == 1:
			first, last = d.RoutesLine, d.RoutesLine // "routes: [{...}]" on one line
		case r.Line == d.RoutesLine:
			return nil, fmt.Sprintf("the routes of %s are written on one line; move the default route to %s by hand", d.ID, to.dev.ID)
		case len(d.Routes) == 1:
			first = d.RoutesLine // an empty routes list is invalid: the key goes too
		}
	}
	if to.dev.Indent < 0 {
		return nil, fmt.Sprintf("%s is written in flow style ({...}); move the gateway to it by hand", to.dev.ID)
	}
	own := len(defaultGateways(to.dev)) > 0
	if !own && g.route != nil && to.dev.RoutesLine != 0 {
		return nil, fmt.Sprintf("%s has routes already; move the default route into its list by hand", to.dev.ID)
	}
	ind := strings.Repeat(" ", to.dev.Indent)
	var add []string
	switch {
	case own:
	case g.route == nil:
		add = []string{ind + "gateway4: " + g.gw.String()}
	default:
		add = []string{ind + "routes:", ind + "  - to: " + g.route.To, ind + "    via: " + g.gw.String()}
	}
	note := "moved to " + to.dev.ID
	if own {
		note = "not on " + d.ID + "'s network"
	}
	edit := func(data []byte, p string) []byte {
		lines, nl := checks.Lines(data)
		var out []string
		for i, l := range lines {
			n := i + 1
			if p == from.file.path && n >= first && n <= last {
				// The comment keeps the line's indentation, which YAML
				// ignores for comments and a reader is helped by.
				rest := strings.TrimLeft(l, " ")
				l = l[:len(l)-len(rest)] + checks.Marker + ": " + note + ": " + rest
			}
			out = append(out, l)
			if p == to.file.path && n == to.dev.End() {
				out = append(out, add...)
			}
		}
		return checks.JoinLines(out, nl)
	}
	msg := fmt.Sprintf("Move the default gateway %s from %s to %s, the device on whose network it is", g.gw, d.ID, to.dev.ID)
	if own {
		msg = fmt.Sprintf("Comment out the default gateway %s of %s (%s has a default gateway of its own)", g.gw, d.ID, to.dev.ID)
	}
	return func() (repair.Fix, error) {
		b := repair.NewFix(msg)
		b.Add(repair.WriteFile(c.pass.Root, from.file.path, edit(from.file.data, from.file.path)))
		if to.file.path != from.file.path && !own {
			b.Add(repair.WriteFile(c.pass.Root, to.file.path, edit(to.file.data, to.file.path)))
		}
		return b.Build()
	}, ""
}

const nmDir = "/etc/NetworkManager/system-connections"

// nmConn is a NetworkManager keyfile connection with static IPv4.
type nmConn struct {
	path string
	data []byte
	f    *nmkeyfile.File
	dev  string
	nets []netip.Prefix
	gw   netip.Addr
	// gwLine is the line of the gateway; gwAddr is set when it is the
	// ",GATEWAY" part of an addressN line rather than gateway=.
	gwLine int
	gwAddr *nmkeyfile.Address
}

// nmConnections reads the keyfiles NetworkManager brings up at boot on a
// named device with a static IPv4 configuration.
func (c *checker) nmConnections() []*nmConn {
	files, _ := c.pass.Root.Glob(path.Join(nmDir, "*.nmconnection"))
	var out []*nmConn
	for _, p := range files {
		data, err := c.pass.Root.ReadFileLimit(p, 1<<20)
		if err != nil {
			continue
		}
		f := nmkeyfile.Parse(data)
		dev, _ := f.Get("connection", "interface-name")
		auto, _ := f.Get("connection", "autoconnect")
		method, _ := f.Get("ipv4", "method")
		never, _ := f.Get("ipv4", "never-default")
		if dev == "" || strings.EqualFold(auto, "false") || method != "manual" {
			continue
		}
		x := &nmConn{path: p, data: data, f: f, dev: dev}
		addrs := f.IPv4Addresses()
		for i, a := range addrs {
			x.nets = append(x.nets, prefixes([]string{a.Address})...)
			if a.Gateway != "" && !x.gw.IsValid() {
				if g, err := netip.ParseAddr(a.Gateway); err == nil && g.Is4() {
					x.gw, x.gwLine, x.gwAddr = g, a.Line, &addrs[i]
				}
			}
		}
		if v, line := f.Get("ipv4", "gateway"); v != "" {
			if g, err := netip.ParseAddr(v); err == nil && g.Is4() {
				x.gw, x.gwLine, x.gwAddr = g, line, nil
			}
		}
		if strings.EqualFold(never, "true") {
			x.gw = netip.Addr{} // never the default route
		}
		out = append(out, x)
	}
	return out
}

// nmGateways checks the gateway of each NetworkManager keyfile against its
// own networks. NetworkManager does not refuse a gateway off the network:
// it adds an on-link route to it through the device, which works only if
// the gateway answers on that link. When another connection's network
// holds it, it most likely does not: reported as a warning, with the fix
// of moving the gateway there.
func (c *checker) nmGateways() {
	if !nmEnabled(c.pass.Facts, c.pass.Root) {
		return
	}
	conns := c.nmConnections()
	for _, x := range conns {
		if !x.gw.IsValid() || len(x.nets) == 0 || onSubnet(x.nets, x.gw) {
			continue
		}
		var right []*nmConn
		for _, o := range conns {
			if o != x && o.dev != x.dev && onSubnet(o.nets, x.gw) {
				right = append(right, o)
			}
		}
		if len(right) == 0 {
			continue // maybe on-link by design
		}
		lines, _ := checks.Lines(x.data)
		f := checks.Finding{
			Kind: "nm-gateway-subnet", Subject: x.dev, Severity: checks.Warning, Path: x.path, Line: x.gwLine,
			Message:  fmt.Sprintf("the gateway %s of %s (%s) is not on its network (%s)", x.gw, x.dev, path.Base(x.path), describe(x.nets)),
			Impact:   fmt.Sprintf("NetworkManager adds an on-link route to %s through %s: the default route works only if %s answers on %s's link, and it is on another device's network, so the machine is most likely unreachable from other networks", x.gw, x.dev, x.gw, x.dev),
			Evidence: []string{fmt.Sprintf("%s:%d: %s", x.path, x.gwLine, strings.TrimSpace(lines[x.gwLine-1]))},
		}
		if len(right) > 1 {
			f.NoFix = fmt.Sprintf("several connections have addresses on the network of %s: move the gateway to the one that should carry the default route", x.gw)
			c.pass.Report(f)
			continue
		}
		o := right[0]
		f.Message += fmt.Sprintf("; it is on %s's (%s, %s)", o.dev, describe(o.nets), path.Base(o.path))
		// Here: drop the gateway (the line, or the ",GATEWAY" part).
		if x.gwAddr != nil {
			lines[x.gwLine-1] = fmt.Sprintf("%s=%s", x.gwAddr.Key, x.gwAddr.Address)
		} else {
			lines[x.gwLine-1] = checks.Marker + ": moved to " + path.Base(o.path) + ": " + lines[x.gwLine-1]
		}
		_, nl := checks.Lines(x.data)
		b := repair.NewFix(fmt.Sprintf("Move the gateway %s from %s to %s, the device on whose network it is", x.gw, path.Base(x.path), path.Base(o.path)))
		if o.gw.IsValid() {
			b = repair.NewFix(fmt.Sprintf("Remove the gateway %s from %s (%s has a gateway of its own)", x.gw, path.Base(x.path), path.Base(o.path)))
		}
		b.Add(repair.WriteFile(c.pass.Root, x.path, checks.JoinLines(lines, nl)))
		if !o.gw.IsValid() {
			ol, onl := checks.Lines(o.data)
			at := o.f.Last("ipv4")
			ol = append(append(append([]string{}, ol[:at]...), "gateway="+x.gw.String()), ol[at:]...)
			b.Add(repair.WriteFile(c.pass.Root, o.path, checks.JoinLines(ol, onl)))
		}
		f.AddFix(b.Build())
		c.pass.Report(f)
	}
}
