package firewall

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/parse/firewalld"
	"rescue/repair"
)

const (
	firewalldConf = "/etc/firewalld/firewalld.conf"
	etcZones      = "/etc/firewalld/zones"
	libZones      = "/usr/lib/firewalld/zones"
)

// firewalld judges the default zone: sshd's ports must be opened by a
// service of the zone, a port of the zone, or its ACCEPT target. Only the
// plain case is judged: when interfaces or sources are bound to zones, or
// the zone has rich rules, which zone a connection meets is not certain.
func (c *checker) firewalld() {
	zone := "public"
	conf, confData := c.vars(firewalldConf)
	if conf != nil && conf.Value("DefaultZone") != "" {
		zone = conf.Value("DefaultZone")
	}
	if strings.ContainsAny(zone, "/\x00") {
		return
	}
	zfile, z := c.zone(zone)
	if z == nil || z.Accepts() || len(z.Rules) > 0 || c.zonesBound() {
		return
	}
	for _, p := range c.ports {
		if c.zoneOpens(z, p.port) {
			continue
		}
		target := z.Target
		if target == "" || strings.EqualFold(target, "default") {
			target = "default (reject)"
		}
		f := checks.Finding{
			Kind: "firewalld-ssh", Subject: strconv.Itoa(p.port), Severity: checks.Error, Path: zfile,
			Message:  fmt.Sprintf("firewalld's default zone %s does not open TCP port %d, sshd's (no ssh service or port in %s; target %s)", zone, p.port, zfile, target),
			Impact:   "firewalld starts at boot and drops or rejects every SSH connection: nobody can log in over the network, only on the console",
			Evidence: []string{fmt.Sprintf("DefaultZone=%s", zone)},
		}
		elem := `  <service name="ssh"/>`
		what := "the ssh service"
		if !c.serviceOpens("ssh", p.port) {
			elem = fmt.Sprintf(`  <port protocol="tcp" port="%d"/>`, p.port)
			what = fmt.Sprintf("TCP port %d", p.port)
		}
		f.AddFix(c.addToZone(zone, zfile, elem, fmt.Sprintf("Add %s to firewalld's %s zone (%s)", what, zone, path.Join(etcZones, zone+".xml"))))
		if zone == "drop" || zone == "block" {
			if _, pub := c.zone("public"); pub != nil && c.zoneOpens(pub, p.port) && conf != nil {
				if v, ok := conf.Get("DefaultZone"); ok {
					f.AddFix(checks.ReplaceLine(c.pass.Root, firewalldConf, confData, v.Line, "DefaultZone=public",
						"Make public, which opens SSH, the default zone again (DefaultZone=public)"))
				}
			}
		}
		c.pass.Report(f)
		return
	}
}

// zone reads a zone: the administrator's copy in /etc, else the shipped one.
func (c *checker) zone(name string) (string, *firewalld.Zone) {
	for _, dir := range []string{etcZones, libZones} {
		p := path.Join(dir, name+".xml")
		data, err := c.pass.Root.ReadFileLimit(p, 1<<20)
		if err != nil {
			continue
		}
		z, err := firewalld.ParseZone(data)
		if err != nil {
			c.pass.Note("%s: %v", p, err)
			return p, nil
		}
		return p, z
	}
	return "", nil
}

// zonesBound reports whether interfaces or sources are given zones
// anywhere: then connections may meet another zone than the default.
func (c *checker) zonesBound() bool {
	files, _ := c.pass.Root.Glob(etcZones + "/*.xml")
	for _, p := range files {
		data, err := c.pass.Root.ReadFileLimit(p, 1<<20)
		if err != nil {
			continue
		}
		if z, err := firewalld.ParseZone(data); err == nil && (len(z.Interfaces) > 0 || len(z.Sources) > 0) {
			return true
		}
	}
	for _, g := range []string{"/etc/sysconfig/network-scripts/ifcfg-*", "/etc/NetworkManager/system-connections/*"} {
		files, _ := c.pass.Root.Glob(g)
		for _, p := range files {
			data, _ := c.pass.Root.ReadFileLimit(p, 1<<20)
			for _, l := range strings.Split(string(data), "\n") {
				l = strings.TrimSpace(l)
				if v, ok := strings.CutPrefix(l, "ZONE="); ok && strings.Trim(v, `"'`) != "" {
					return true
				}
				if v, ok := strings.CutPrefix(l, "zone="); ok && v != "" {
					return true
				}
			}
		}
	}
	return false
}

func (c *checker) zoneOpens(z *firewalld.Zone, port int) bool {
	if z.Accepts() || z.HasPort(port) {
		return true
	}
	for _, s := range z.Services {
		if c.serviceOpens(s.Name, port) {
			return true
		}
	}
	return false
}

// serviceOpens reports whether a service definition opens TCP port.
func (c *checker) serviceOpens(name string, port int) bool {
	if strings.ContainsAny(name, "/\x00") {
		return false
	}
	for _, dir := range []string{"/etc/firewalld/services", "/usr/lib/firewalld/services"} {
		data, err := c.pass.Root.ReadFileLimit(path.Join(dir, name+".xml"), 1<<20)
		if err != nil {
			continue
		}
		s, err := firewalld.ParseService(data)
		if err != nil {
			return false
		}
		for _, p := range s.Ports {
			if p.Has(port) {
				return true
			}
		}
		return false
	}
	return false
}

// addToZone plans adding an element before </zone> of the zone's file in
// /etc (made from the shipped one when there is none yet, as
// firewall-cmd --permanent does).
func (c *checker) addToZone(zone, from, elem, message string) (repair.Fix, error) {
	data, err := c.pass.Root.ReadFileLimit(from, 1<<20)
	if err != nil {
		return repair.Fix{}, err
	}
	s := string(data)
	i := strings.LastIndex(s, "</zone>")
	if i < 0 {
		return repair.Fix{}, fmt.Errorf("%s has no </zone>", from)
	}
	head := s[:i]
	if !strings.HasSuffix(head, "\n") {
		head += "\n"
	}
	out := []byte(head + elem + "\n" + s[i:])
	dst := path.Join(etcZones, zone+".xml")
	if from == dst {
		return repair.NewFix(message).Add(repair.WriteFile(c.pass.Root, dst, out)).Build()
	}
	b := repair.NewFix(message)
	if !c.pass.Root.Exists(etcZones) {
		// firewalld makes /etc/firewalld/zones 0750 when it first saves
		// a zone; the file below it is planned against its absence.
		mk, err := repair.Mkdir(c.pass.Root, etcZones, 0o750)
		if err != nil {
			return repair.Fix{}, err
		}
		mode := repair.Mode(0o644)
		return b.Add(mk, nil).Add(repair.Op{Kind: repair.KindWrite, Path: path.Join(mk.Path, zone+".xml"),
			Expect: repair.State{Type: repair.Absent}, Data: out, Mode: &mode, Owner: &repair.Owner{}}, nil).Build()
	}
	return b.Add(repair.CreateFile(c.pass.Root, dst, out, 0o644, 0, 0)).Build()
}
