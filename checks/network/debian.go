package network

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"rescue/checks"
	"rescue/parse/ifcfg"
	"rescue/parse/netplan"
	"rescue/parse/osrelease"
)

const interfacesFile = "/etc/network/interfaces"

// ifupFile is an interfaces(5) file ifupdown reads (the main one and what
// it sources).
type ifupFile struct {
	path string
	f    *ifcfg.Interfaces
	data string
}

// configured is an interface brought up at boot by some file.
type configured struct {
	name    string
	path    string
	line    int
	byCloud bool
	// matched is set for a netplan entry that finds its NIC by MAC or
	// name pattern rather than by its own name.
	matched bool
}

func (c *checker) debian() {
	if c.os.Family != osrelease.Debian {
		return
	}
	ifup := c.ifupdown()
	plan := c.netplan()
	c.interfacesGateways()
	c.netplanGateways()
	var all []configured
	all = append(all, ifup...)
	all = append(all, plan...)
	c.staleNames(all)
	if len(ifup) > 0 && c.pass.Facts.UnitEnabled("networking.service") && !c.usable("/usr/sbin/ifup") && !c.usable("/sbin/ifup") {
		f := checks.Finding{
			Kind: "ifup-missing", Subject: "ifup", Severity: checks.Error, Path: "/usr/sbin/ifup",
			Message: "ifup is missing or empty while networking.service brings up the interfaces of " + interfacesFile,
			Impact:  "networking.service fails at boot and no interface comes up: the machine is unreachable over the network",
		}
		c.restore(&f, "/usr/sbin/ifup", "ifupdown")
		c.pass.Report(f)
	}
}

// ifupdown returns the interfaces /etc/network/interfaces (and the files it
// sources) bring up at boot: named on an auto or allow-hotplug line and
// given an iface stanza.
func (c *checker) ifupdown() []configured {
	var files []ifupFile
	seen := map[string]bool{}
	var read func(p string, depth int)
	read = func(p string, depth int) {
		if seen[p] || depth > 8 {
			return
		}
		seen[p] = true
		data, err := c.pass.Root.ReadFileLimit(p, 1<<20)
		if err != nil {
			return
		}
		f := ifcfg.ParseInterfaces(data)
		files = append(files, ifupFile{p, f, string(data)})
		for _, s := range f.Sources {
			if !strings.HasPrefix(s, "/") {
				s = path.Join(path.Dir(p), s)
			}
			m, _ := c.pass.Root.Glob(s)
			for _, x := range m {
				read(x, depth+1)
			}
		}
		for _, d := range f.SourceDirs {
			if !strings.HasPrefix(d, "/") {
				d = path.Join(path.Dir(p), d)
			}
			entries, err := c.pass.Root.ReadDir(d)
			if err != nil {
				continue
			}
			for _, e := range entries {
				// run-parts names only: letters, digits, '_' and '-'.
				if partsName.MatchString(e.Name()) {
					read(path.Join(d, e.Name()), depth+1)
				}
			}
		}
	}
	read(interfacesFile, 0)
	c.ifup = files
	stanza := map[string]bool{}
	for _, p := range files {
		for _, s := range p.f.Stanzas {
			stanza[s.Name] = true
		}
	}
	var out []configured
	for _, p := range files {
		for _, m := range p.f.Auto {
			if m.Name == "lo" || !stanza[m.Name] || strings.ContainsAny(m.Name, ":.") {
				continue
			}
			out = append(out, configured{name: m.Name, path: p.path, line: m.Line, byCloud: strings.Contains(p.data, "cloud-init")})
		}
	}
	return out
}

var partsName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// planFile is a netplan file that parsed.
type planFile struct {
	path string
	data []byte
	f    *netplan.File
}

// netplan returns the ethernets of /etc/netplan that name an interface
// directly, and reports the ones bound to a MAC address.
func (c *checker) netplan() []configured {
	var out []configured
	files, _ := c.pass.Root.Glob("/etc/netplan/*.yaml")
	for _, p := range files {
		data, err := c.pass.Root.ReadFileLimit(p, 1<<20)
		if err != nil {
			continue
		}
		doc, err := netplan.Parse(data)
		if err != nil {
			c.pass.Report(checks.Finding{
				Kind: "netplan-invalid", Severity: checks.Error, Path: p,
				Message: fmt.Sprintf("%s is not valid YAML: %v", p, err),
				Impact:  "netplan generate fails at boot and writes no network configuration: no interface comes up",
				NoFix:   "rescue cannot tell what the file meant; correct it by hand",
			})
			continue
		}
		c.plan = append(c.plan, planFile{p, data, doc})
		byCloud := strings.Contains(path.Base(p), "cloud-init") || strings.Contains(string(data), "cloud-init")
		var eths []*netplan.Device
		for _, d := range doc.Devices {
			if d.Kind == "ethernets" {
				eths = append(eths, d)
			}
		}
		slices.SortStableFunc(eths, func(a, b *netplan.Device) int { return strings.Compare(a.ID, b.ID) })
		for _, e := range eths {
			id := e.ID
			switch {
			case e.MatchMAC != "":
				out = append(out, configured{name: id, path: p, byCloud: byCloud, matched: true})
				if byCloud && c.cloudInit {
					continue
				}
				c.pass.Report(checks.Finding{
					Kind: "netplan-macaddress", Subject: id, Severity: checks.Info, Path: p,
					Message: fmt.Sprintf("netplan's %s in %s applies only to the NIC with MAC %s", id, p, e.MatchMAC),
					Impact:  "if this disk now runs on another instance, its NIC has another MAC and gets no configuration: this cannot be checked offline",
					NoFix:   "the MAC of the machine this disk will run on cannot be seen from here; if it changed, match by name or driver instead",
				})
			case e.MatchName == "":
				out = append(out, configured{name: id, path: p, byCloud: byCloud})
			default:
				out = append(out, configured{name: id, path: p, byCloud: byCloud, matched: true})
			}
		}
	}
	return out
}

// staleNames reports interfaces configured under names the kernel will not
// give when it names NICs eth0, eth1...
func (c *checker) staleNames(all []configured) {
	if len(all) == 0 {
		return
	}
	var stale, byName []configured
	var names []string
	for _, x := range all {
		if x.matched {
			continue
		}
		byName = append(byName, x)
		names = append(names, x.name)
		if c.classic && !ethRE.MatchString(x.name) {
			stale = append(stale, x)
		}
	}
	why, instead := c.classicWhy, "eth0"
	if len(stale) == 0 && len(byName) == len(all) && c.noneSeen(names) {
		stale, why, instead = byName, c.seenWhy, strings.Join(c.seen, " or ")
	}
	for _, x := range stale {
		f := checks.Finding{
			Kind: "stale-interface-name", Subject: x.name, Severity: checks.Warning, Path: x.path, Line: x.line,
			Message: fmt.Sprintf("%s brings up %s, a name this system will not give a NIC (certain: %s)", x.path, x.name, why),
			Impact:  fmt.Sprintf("nothing named %s appears at boot, so this configuration is never used", x.name),
			NoFix:   fmt.Sprintf("rescue cannot see the new machine's NICs: configure eth0 instead of %s, or drop net.ifnames=0 from the kernel command line", x.name),
		}
		if instead != "eth0" {
			f.NoFix = fmt.Sprintf("which of the machine's NICs (%s) should have this configuration is a choice: configure it instead of %s", instead, x.name)
		}
		if len(stale) == len(all) {
			f.Severity = checks.Error
			f.Impact = "no configured interface will exist, so none comes up at boot: the machine is unreachable over the network"
		}
		c.downgradeForCloudInit(&f, x.byCloud)
		c.pass.Report(f)
	}
}
