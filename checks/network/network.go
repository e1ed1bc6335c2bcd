package network

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"rescue/checks"
	"rescue/checks/internal/restore"
	"rescue/facts"
	"rescue/parse/ifcfg"
	"rescue/parse/osrelease"
	"rescue/repair"
	"rescue/sysroot"
)

// Check is the network check.
var Check = &checks.Check{
	Name:     "network",
	Doc:      doc,
	Requires: []facts.Fact{facts.OSRelease, facts.Packages, facts.MachineInfo, facts.EnabledUnits},
	Kinds:    []string{"gatewaydev", "gatewaydev-subnet", "ifcfg-stale-name", "ifcfg-hwaddr", "ifcfg-gateway-subnet", "ifup-missing", "persistent-net-rules", "stale-interface-name", "interfaces-gateway-subnet", "netplan-invalid", "netplan-macaddress", "netplan-gateway-subnet", "nm-gateway-subnet"},
	Reads:    []string{"/etc/NetworkManager/system-connections/*", "/etc/network/interfaces", "/etc/network/interfaces.d/*", "/etc/netplan/*.yaml", "/etc/sysconfig/network", "/etc/sysconfig/network-scripts/*", "/etc/cloud/cloud.cfg", "/etc/cloud/cloud.cfg.d/*.cfg", "/etc/udev/rules.d/70-persistent-net.rules", "/etc/systemd/system/*", "/etc/systemd/network/*"},
	Run:      run,
}

const (
	networkFile = "/etc/sysconfig/network"
	scriptsDir  = "/etc/sysconfig/network-scripts"
	rulesFile   = "/etc/udev/rules.d/70-persistent-net.rules"
)

func run(pass *checks.Pass) error {
	c := &checker{pass: pass, os: pass.Facts.OS()}
	c.classic, c.classicWhy = classicNames(pass.Root, c.os)
	if m := pass.Facts.Machine(); m != nil && len(m.NICs) > 0 {
		c.seen, c.seenWhy = m.NICs, fmt.Sprintf("the last boot's kernel log names the NICs %s (%s)", strings.Join(m.NICs, ", "), m.NICsFrom)
	}
	c.cloudInit = cloudInitManagesNetwork(pass.Root)
	c.loadIfcfg()
	c.gatewayDev()
	c.ifcfgGateways()
	c.nmGateways()
	c.staleIfcfg()
	c.persistentRules()
	c.networkScripts()
	c.debian()
	return nil
}

type checker struct {
	pass *checks.Pass
	os   osrelease.Info
	// classic is set when the kernel names NICs eth0, eth1... (CentOS 6,
	// or net.ifnames=0 on the command line); classicWhy says how we know.
	classic    bool
	classicWhy string
	// seen are the NICs the last boot named (nil: not known); seenWhy
	// says where that came from.
	seen      []string
	seenWhy   string
	cloudInit bool
	ifaces    []*iface
	ifup      []ifupFile // set by ifupdown on Debian
	plan      []planFile // set by netplan on Debian
}

// iface is one ifcfg file.
type iface struct {
	path     string
	data     []byte
	file     *ifcfg.File
	dev      string
	onboot   bool
	ethernet bool // a physical NIC's configuration (not a bond, bridge, VLAN, alias or slave)
	slave    bool
	route    string // why this device gets the default route ("" when it does not)
	hwaddr   string
	byCloud  bool // written by cloud-init
}

var ethRE = regexp.MustCompile(`^eth[0-9]+$`)

// ignoredIfcfg are names the network scripts skip (ifcfg-eth0.bak, ...).
func ignoredIfcfg(name string) bool {
	for _, s := range []string{"~", ".bak", ".orig", ".rpmnew", ".rpmorig", ".rpmsave"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

func (c *checker) loadIfcfg() {
	entries, err := c.pass.Root.ReadDir(scriptsDir)
	if err != nil {
		return
	}
	global := c.readVars(networkFile)
	for _, e := range entries {
		name := e.Name()
		suffix, ok := strings.CutPrefix(name, "ifcfg-")
		if !ok || suffix == "lo" || ignoredIfcfg(name) || e.IsDir() {
			continue
		}
		p := path.Join(scriptsDir, name)
		data, err := c.pass.Root.ReadFileLimit(p, 1<<20)
		if err != nil {
			continue
		}
		f := ifcfg.Parse(data)
		i := &iface{path: p, data: data, file: f, dev: f.Value("DEVICE")}
		if i.dev == "" {
			i.dev = suffix
		}
		i.onboot = f.Yes("ONBOOT", true)
		t := strings.ToLower(f.Value("TYPE"))
		i.slave = f.Value("MASTER") != "" || f.Yes("SLAVE", false) || f.Value("TEAM_MASTER") != "" || f.Value("BRIDGE") != ""
		i.ethernet = (t == "" || t == "ethernet") && !strings.ContainsAny(i.dev, ":.") && !f.Yes("VLAN", false) &&
			f.Value("BONDING_OPTS") == "" && f.Value("DEVICETYPE") == "" && !i.slave
		i.hwaddr = strings.ToLower(f.Value("HWADDR"))
		i.byCloud = strings.Contains(string(data), "cloud-init")
		if i.onboot && f.Yes("DEFROUTE", true) && !i.slave {
			proto := strings.ToLower(f.Value("BOOTPROTO"))
			switch {
			case proto == "dhcp" || proto == "bootp":
				i.route = "BOOTPROTO=" + proto
			case f.Value("GATEWAY") != "":
				i.route = "GATEWAY=" + f.Value("GATEWAY")
			case global != nil && global.Value("GATEWAY") != "" && global.Value("GATEWAYDEV") == "":
				i.route = "GATEWAY in " + networkFile
			}
		}
		c.ifaces = append(c.ifaces, i)
	}
}

func (c *checker) readVars(p string) *ifcfg.File {
	data, err := c.pass.Root.ReadFileLimit(p, 1<<20)
	if err != nil {
		return nil
	}
	return ifcfg.Parse(data)
}

func (c *checker) ifaceFor(dev string) *iface {
	for _, i := range c.ifaces {
		if i.dev == dev {
			return i
		}
	}
	return nil
}

// gatewayDev checks GATEWAYDEV in /etc/sysconfig/network against the
// devices whose ifcfg files give them the default route.
func (c *checker) gatewayDev() {
	data, err := c.pass.Root.ReadFileLimit(networkFile, 1<<20)
	if err != nil {
		return
	}
	v, ok := ifcfg.Parse(data).Get("GATEWAYDEV")
	if !ok || v.Value == "" {
		return
	}
	var routers []string
	for _, i := range c.ifaces {
		if i.route != "" && i.dev != v.Value {
			routers = append(routers, fmt.Sprintf("%s (%s, %s)", i.dev, i.route, i.path))
		}
	}
	if c.gatewaySubnet(data, v) {
		return
	}
	target := c.ifaceFor(v.Value)
	var problem string
	switch {
	case target == nil:
		problem = fmt.Sprintf("GATEWAYDEV=%s names a device that has no ifcfg file", v.Value)
	case !target.onboot:
		problem = fmt.Sprintf("GATEWAYDEV=%s names a device that is not brought up at boot (ONBOOT=no in %s)", v.Value, target.path)
	case target.route == "" && len(routers) > 0:
		problem = fmt.Sprintf("GATEWAYDEV=%s names a device without a gateway (%s has neither BOOTPROTO=dhcp nor GATEWAY=)", v.Value, target.path)
	default:
		return
	}
	f := checks.Finding{
		Kind: "gatewaydev", Severity: checks.Error, Path: networkFile, Line: v.Line,
		Message:  problem,
		Impact:   "the network scripts and NetworkManager add the default route only through GATEWAYDEV, so no default route is set: the machine is unreachable from other networks (no SSH), the console still works",
		Evidence: []string{strings.TrimSpace(v.Raw)},
	}
	if len(routers) > 0 {
		f.Message += "; the default route comes from " + strings.Join(routers, ", ")
	} else {
		f.Evidence = append(f.Evidence, "no ifcfg file gives any device a default route")
	}
	f.AddFix(checks.CommentOut(c.pass.Root, networkFile, data, v.Line, "not the device with the default route",
		fmt.Sprintf("Comment out GATEWAYDEV=%s so that the device with the gateway sets the default route", v.Value)))
	c.pass.Report(f)
}

// staleIfcfg reports ifcfg files for names the kernel will not give, and
// files bound to a MAC address.
func (c *checker) staleIfcfg() {
	var nics, stale []*iface
	for _, i := range c.ifaces {
		if !i.ethernet || !i.onboot {
			continue
		}
		nics = append(nics, i)
		if c.classic && !ethRE.MatchString(i.dev) {
			stale = append(stale, i)
		}
	}
	why, evidence := c.classicWhy, "the kernel names NICs eth0, eth1, ..."
	if len(stale) == 0 && len(nics) > 0 {
		var names []string
		for _, i := range nics {
			names = append(names, i.dev)
		}
		if c.noneSeen(names) {
			stale, why, evidence = nics, c.seenWhy, "no ONBOOT ifcfg file names one of them"
		}
	}
	allStale := len(stale) > 0 && len(stale) == len(nics)
	for _, i := range stale {
		f := checks.Finding{
			Kind: "ifcfg-stale-name", Subject: i.dev, Severity: checks.Warning, Path: i.path,
			Message:  fmt.Sprintf("%s configures %s, a name this system will not give a NIC (certain: %s)", i.path, i.dev, why),
			Impact:   fmt.Sprintf("nothing named %s appears at boot, so this configuration is never used", i.dev),
			Evidence: []string{evidence},
			NoFix:    fmt.Sprintf("rescue cannot see the new machine's NICs: rename %s to ifcfg-eth0 (and its DEVICE and NAME), or drop net.ifnames=0 from the kernel command line", i.path),
		}
		if why == c.seenWhy {
			f.NoFix = fmt.Sprintf("which of the machine's NICs (%s) should have this configuration is a choice: rename %s after it (and its DEVICE and NAME)", strings.Join(c.seen, ", "), i.path)
		}
		if allStale {
			f.Severity = checks.Error
			f.Impact = "no ONBOOT ifcfg file names a device that will exist, so no interface comes up at boot: the machine is unreachable over the network"
		}
		c.downgradeForCloudInit(&f, i.byCloud)
		c.pass.Report(f)
	}
	for _, i := range nics {
		if i.hwaddr == "" || i.byCloud && c.cloudInit {
			continue
		}
		c.pass.Report(checks.Finding{
			Kind: "ifcfg-hwaddr", Subject: i.dev, Severity: checks.Info, Path: i.path,
			Message: fmt.Sprintf("%s applies only to the NIC with MAC %s (HWADDR)", i.path, i.hwaddr),
			Impact:  fmt.Sprintf("if this disk now runs on another instance, its NIC has another MAC and the network scripts skip the file (\"Device %s has different MAC address than expected, ignoring\"): this cannot be checked offline", i.dev),
			NoFix:   "the MAC of the machine this disk will run on cannot be seen from here; if it changed, comment out HWADDR",
		})
	}
}

// noneSeen says whether the last boot named its NICs and none of names is
// among them. Only that is taken as certain: a NIC whose link never came up
// may have left no line in the log, so one unseen name among seen ones
// proves nothing, but a configuration that names no NIC the machine had
// brings none up.
func (c *checker) noneSeen(names []string) bool {
	if len(c.seen) == 0 {
		return false
	}
	for _, n := range names {
		if slices.Contains(c.seen, n) {
			return false
		}
	}
	return true
}

// downgradeForCloudInit lowers a finding about a file cloud-init wrote when
// cloud-init still manages the network: it writes the file again for a new
// instance.
func (c *checker) downgradeForCloudInit(f *checks.Finding, byCloud bool) {
	if byCloud && c.cloudInit {
		f.Severity = checks.Info
		f.Impact += " (cloud-init wrote this file and writes the network configuration again on a new instance)"
	}
}

// persistentRules checks 70-persistent-net.rules.
func (c *checker) persistentRules() {
	data, err := c.pass.Root.ReadFileLimit(rulesFile, 1<<20)
	if err != nil {
		return
	}
	rules := ifcfg.ParseRules(data)
	if len(rules) == 0 {
		return
	}
	var pins []string
	for _, r := range rules {
		pins = append(pins, fmt.Sprintf("%s=%s", r.Name, r.MAC))
	}
	f := checks.Finding{
		Kind: "persistent-net-rules", Severity: checks.Warning, Path: rulesFile, Line: rules[0].Line,
		Message:  fmt.Sprintf("%s names %d interface(s) after MAC addresses: %s", rulesFile, len(rules), strings.Join(pins, ", ")),
		Impact:   "on another instance the new NIC matches none of these rules and gets the next free name (eth1 while eth0 is reserved for the old MAC), so the configuration for eth0 never applies and no interface comes up",
		Evidence: []string{strings.TrimSpace(rules[0].Raw)},
	}
	// The newest rule is the NIC seen last. When it names a device that
	// has no configuration while an older rule's name has one, the disk
	// already runs (or ran) on a new NIC under the wrong name.
	if c.os.Family == osrelease.RHEL && len(c.ifaces) > 0 && len(rules) > 1 {
		last := rules[len(rules)-1]
		if c.ifaceFor(last.Name) == nil {
			for _, r := range rules[:len(rules)-1] {
				if c.ifaceFor(r.Name) != nil {
					f.Severity = checks.Error
					f.Message += fmt.Sprintf("; the newest NIC (%s) is named %s, which has no ifcfg file, while %s is reserved for an older MAC", last.MAC, last.Name, r.Name)
					f.Impact = fmt.Sprintf("%s comes up unconfigured and %s never appears: no network", last.Name, r.Name)
					break
				}
			}
		}
	}
	lines, nl := checks.Lines(data)
	for _, r := range rules {
		lines[r.Line-1] = checks.Marker + ": pins an interface name to an old MAC address: " + lines[r.Line-1]
	}
	f.AddFix(repair.NewFix("Comment out the MAC-pinned interface names in " + rulesFile + " so that the NIC is named by the kernel again (eth0 for the first one)").
		Add(repair.WriteFile(c.pass.Root, rulesFile, checks.JoinLines(lines, nl))).Build())
	c.pass.Report(f)
}

// networkScripts reports ifup or ifup-eth missing while the network
// service of the network scripts brings the interfaces up.
func (c *checker) networkScripts() {
	if c.os.Family != osrelease.RHEL || len(c.ifaces) == 0 {
		return
	}
	if nmEnabled(c.pass.Facts, c.pass.Root) || !c.enabledInitScript("network") {
		return
	}
	for _, p := range []string{"/usr/sbin/ifup", "/usr/sbin/ifdown", path.Join(scriptsDir, "ifup-eth"), path.Join(scriptsDir, "ifdown-eth")} {
		alt := strings.Replace(p, "/usr/sbin/", "/sbin/", 1)
		if c.usable(p) || c.usable(alt) {
			continue
		}
		f := checks.Finding{
			Kind: "ifup-missing", Subject: path.Base(p), Severity: checks.Error, Path: p,
			Message: fmt.Sprintf("%s is missing or empty while the network service brings the interfaces up", p),
			Impact:  "network.service fails at boot and no interface comes up: the machine is unreachable over the network",
		}
		c.restore(&f, p, "initscripts (EL7) or network-scripts (EL8 and later)")
		c.pass.Report(f)
	}
}

// restore offers restoring p from its package.
func (c *checker) restore(f *checks.Finding, p, pkg string) {
	fix, err := restore.Fix(c.pass, p)
	if err == nil {
		f.AddFix(fix, nil)
		return
	}
	c.pass.Note("restoring %s: %v", p, err)
	f.NoFix = fmt.Sprintf("reinstall %s, or give rescue the package file (--packages) to restore %s from", pkg, p)
}

func (c *checker) usable(p string) bool {
	fi, err := c.pass.Root.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0
}

// enabledInitScript reports whether a SysV init script is enabled for the
// multi-user runlevels (what systemd-sysv-generator turns into a unit).
func (c *checker) enabledInitScript(name string) bool {
	for _, dir := range []string{"/etc/rc.d/rc3.d", "/etc/rc3.d", "/etc/rc.d/rc5.d"} {
		if m, _ := c.pass.Root.Glob(dir + "/S[0-9][0-9]" + name); len(m) > 0 {
			return true
		}
	}
	return false
}

func nmEnabled(f *facts.Facts, root *sysroot.Root) bool {
	if f.UnitEnabled("NetworkManager.service") {
		return true
	}
	_, err := root.Lstat("/etc/systemd/system/dbus-org.freedesktop.NetworkManager.service")
	return err == nil
}
