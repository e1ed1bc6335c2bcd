package firewall

import (
	"fmt"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/parse/nftables"
	"rescue/parse/unitfile"
	"rescue/repair"
)

// nftablesConfs are the rulesets nftables.service loads when its unit does
// not say: Debian's, then the RHEL family's.
var nftablesConfs = []string{"/etc/nftables.conf", "/etc/sysconfig/nftables.conf"}

// nftablesFile returns the file nftables.service loads ("nft -f FILE" in
// its ExecStart), or "" when there is none.
func (c *checker) nftablesFile() string {
	for _, u := range []string{"/etc/systemd/system/nftables.service", "/usr/lib/systemd/system/nftables.service", "/lib/systemd/system/nftables.service"} {
		data, err := c.pass.Root.ReadFileLimit(u, 1<<20)
		if err != nil {
			continue
		}
		for _, d := range unitfile.Parse(data).Get("Service", "ExecStart") {
			f := strings.Fields(d.Value)
			for i := 0; i+1 < len(f); i++ {
				if (f[i] == "-f" || f[i] == "--file") && strings.HasPrefix(f[i+1], "/") {
					return f[i+1]
				}
			}
		}
		break // the first unit file found is the one systemd uses
	}
	for _, p := range nftablesConfs {
		if c.pass.Root.Exists(p) {
			return p
		}
	}
	return ""
}

// nftables judges the ruleset nftables.service loads at boot.
func (c *checker) nftables() {
	file := c.nftablesFile()
	if file == "" {
		return
	}
	rs, err := nftables.Load(c.pass.Root, file)
	if err != nil {
		return
	}
	for _, p := range c.ports {
		v := rs.TCPIn(p.port)
		if !v.Blocked {
			continue
		}
		ch := v.Chain
		f := checks.Finding{
			Kind: "nftables-ssh", Subject: strconv.Itoa(p.port), Severity: checks.Error, Path: ch.File, Line: ch.Line,
			Message: fmt.Sprintf("the nftables rules nftables.service loads at boot drop TCP port %d, sshd's: %s", p.port, v.Why),
			Impact:  "every SSH connection is dropped or refused after a reboot: nobody can log in over the network, only on the console",
		}
		if v.Rule != nil {
			f.Path, f.Line = v.Rule.File, v.Rule.Line
			f.Evidence = append(f.Evidence, v.Rule.Text)
		} else {
			f.Evidence = append(f.Evidence, fmt.Sprintf("chain %s: type filter hook input, policy %s", ch.ID(), ch.Policy))
		}
		f.AddFix(c.nftablesFix(rs, file, v, p.port))
		c.pass.Report(f)
		// One accept line is planned at a time: the next port is judged
		// again after this repair.
		return
	}
}

// nftablesFix places "tcp dport PORT accept" where nothing before it can
// drop the connection: just before the dropping rule, or at the start of
// the chain whose policy drops it. Where the rule or the chain sits on one
// line with what must stay before it, an "insert rule" command at the end
// of the main file puts the accept first in the chain instead.
func (c *checker) nftablesFix(rs *nftables.Ruleset, main string, v nftables.Verdict, port int) (repair.Fix, error) {
	accept := fmt.Sprintf("tcp dport %d accept", port)
	ch := v.Chain
	insert := func(file string, at int, text, why string) (repair.Fix, error) {
		lines, nl := checks.Lines(rs.Files[file])
		if at < 0 || at > len(lines) {
			at = len(lines)
		}
		out := append(append(append([]string{}, lines[:at]...), text), lines[at:]...)
		return repair.NewFix(fmt.Sprintf("Accept TCP port %d (sshd) in %s %s", port, file, why)).
			Add(repair.WriteFile(c.pass.Root, file, checks.JoinLines(out, nl))).Build()
	}
	indent := func(file string, line int) string {
		lines, _ := checks.Lines(rs.Files[file])
		if line < 1 || line > len(lines) {
			return "\t"
		}
		l := lines[line-1]
		return l[:len(l)-len(strings.TrimLeft(l, " \t"))]
	}
	if r := v.Rule; r != nil {
		owner := ruleChain(rs, r)
		switch {
		case r.Cmd == "add" && owner != nil:
			return insert(r.File, r.Line-1, fmt.Sprintf("add rule %s %s", owner.ID(), accept),
				fmt.Sprintf("before line %d, which drops it", r.Line))
		case r.Cmd == "insert" && owner != nil:
			// An inserted rule goes first: one inserted after it goes
			// before it.
			return insert(r.File, r.Line, fmt.Sprintf("insert rule %s %s", owner.ID(), accept),
				fmt.Sprintf("after line %d, which inserts a rule that drops it", r.Line))
		case r.Cmd == "" && owner != nil && owner.Block && r.File == owner.File && r.Line > owner.Start:
			return insert(r.File, r.Line-1, indent(r.File, r.Line)+accept, fmt.Sprintf("before line %d, which drops it", r.Line))
		}
	} else if ch.Block && ch.End > ch.Start {
		in := indent(ch.File, ch.Start)
		if ch.Start == ch.Line {
			in += "\t"
		}
		return insert(ch.File, ch.Start, in+accept, fmt.Sprintf("at the start of chain %s", ch.ID()))
	}
	lines, nl := checks.Lines(rs.Files[main])
	out := append(append([]string{}, lines...), fmt.Sprintf("insert rule %s %s", ch.ID(), accept))
	return repair.NewFix(fmt.Sprintf("Accept TCP port %d (sshd) first in chain %s (an insert rule command at the end of %s)", port, ch.ID(), main)).
		Add(repair.WriteFile(c.pass.Root, main, checks.JoinLines(out, nl))).Build()
}

// ruleChain returns the chain a rule belongs to.
func ruleChain(rs *nftables.Ruleset, r *nftables.Rule) *nftables.Chain {
	for _, ch := range rs.Chains {
		for _, x := range ch.Rules {
			if x == r {
				return ch
			}
		}
	}
	return nil
}
