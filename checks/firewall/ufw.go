package firewall

import (
	"fmt"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/parse/iptables"
	"rescue/repair"
)

const (
	ufwConf    = "/etc/ufw/ufw.conf"
	ufwDefault = "/etc/default/ufw"
	ufwRules   = "/etc/ufw/user.rules"
)

// ufw judges an enabled ufw: the rules "ufw allow" added (user.rules,
// chain ufw-user-input) must accept sshd's ports, or the default input
// policy must.
func (c *checker) ufw() {
	conf, _ := c.vars(ufwConf)
	if conf == nil || !conf.Yes("ENABLED", false) {
		return
	}
	def, _ := c.vars(ufwDefault)
	policy := "DROP"
	if def != nil && def.Value("DEFAULT_INPUT_POLICY") != "" {
		policy = strings.ToUpper(def.Value("DEFAULT_INPUT_POLICY"))
	}
	data, err := c.pass.Root.ReadFileLimit(ufwRules, 4<<20)
	if err != nil {
		return
	}
	t := iptables.Parse(data)
	for _, p := range c.ports {
		v := t.TCPInChain("ufw-user-input", p.port, policy)
		if !v.Blocked {
			continue
		}
		f := checks.Finding{
			Kind: "ufw-ssh", Subject: strconv.Itoa(p.port), Severity: checks.Error, Path: ufwRules,
			Message:  fmt.Sprintf("ufw is enabled and drops TCP port %d, sshd's: %s (DEFAULT_INPUT_POLICY=%s)", p.port, v.Why, policy),
			Impact:   "ufw starts at boot and drops every SSH connection: nobody can log in over the network, only on the console",
			Evidence: []string{"ENABLED=yes in " + ufwConf},
		}
		if v.Rule != nil {
			f.Line = v.Rule.Line
			f.Evidence = append(f.Evidence, strings.TrimSpace(v.Rule.Raw))
		}
		lines, nl := checks.Lines(data)
		at := -1
		for i, l := range lines {
			if strings.TrimSpace(l) == "### END RULES ###" {
				at = i
				break
			}
		}
		if v.Rule != nil {
			at = v.Rule.Line - 1
		}
		if at < 0 {
			at = t.Commit - 1
		}
		if at < 0 {
			f.NoFix = ufwRules + " has no COMMIT line; run ufw allow " + strconv.Itoa(p.port) + "/tcp after boot from the console"
			c.pass.Report(f)
			return
		}
		add := []string{
			fmt.Sprintf("### tuple ### allow tcp %d 0.0.0.0/0 any 0.0.0.0/0 in", p.port),
			fmt.Sprintf("-A ufw-user-input -p tcp --dport %d -j ACCEPT", p.port),
			"",
		}
		out := append(append(append([]string{}, lines[:at]...), add...), lines[at:]...)
		f.AddFix(repair.NewFix(fmt.Sprintf("Allow TCP port %d (sshd) in ufw's rules (%s), as \"ufw allow %d/tcp\" does", p.port, ufwRules, p.port)).
			Add(repair.WriteFile(c.pass.Root, ufwRules, checks.JoinLines(out, nl))).Build())
		c.pass.Report(f)
		return
	}
}
