package hosts

import (
	"fmt"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/checks/intrusion"
	"rescue/facts"
	"rescue/parse/hosts"
	"rescue/repair"
)

// Check is the hosts check.
var Check = &checks.Check{
	Name:     "hosts",
	Family:   intrusion.Family,
	Doc:      doc,
	Requires: []facts.Fact{facts.Accounts, facts.Packages},
	Kinds:    []string{"redirect", "pools-blocked"},
	Run:      run,
}

const hostsPath = "/etc/hosts"

func run(pass *checks.Pass) error {
	e := intrusion.New(pass)
	data, err := pass.Root.ReadFileLimit(hostsPath, 16<<20)
	if err != nil {
		return nil
	}
	for _, en := range hosts.Parse(data) {
		var marks []checks.Mark
		var pools []string
		for _, name := range en.Names {
			suffix, agent, ok := intrusion.SecurityHost(name)
			switch {
			case ok && agent:
				marks = append(marks, checks.Mark{Code: "security-host", Why: fmt.Sprintf("it sends %s (a security agent's host, %s) to %s", name, suffix, en.Addr)})
			case ok && en.Blocks():
				marks = append(marks, checks.Mark{Code: "update-host", Why: fmt.Sprintf("it sends %s (the distribution's packages and security updates) nowhere (%s)", name, en.Addr)})
			case ok && !en.Private():
				marks = append(marks, checks.Mark{Code: "update-host", Why: fmt.Sprintf("it sends %s (the distribution's packages and security updates) to the public address %s", name, en.Addr)})
			case intrusion.PoolHost(name) && en.Blocks():
				pools = append(pools, name)
			}
		}
		n := en.Line
		if len(marks) > 0 {
			ent := &intrusion.Entry{
				Place: "hosts", Kind: "redirect", What: "hosts entry",
				Path: hostsPath, Line: n, Subject: strconv.Itoa(n), Text: en.Raw, Marks: marks,
				Cmd:    &intrusion.Command{Hosts: append([]string{en.Addr.String()}, en.Names...)},
				Files:  []intrusion.FileRef{{Path: hostsPath, Role: "entry"}},
				Impact: "the machine cannot reach its security agent's or its distribution's servers, or reaches someone else's: updates and alerts stop, or come from an impostor",
			}
			op, err := intrusion.CommentLines(pass.Root, hostsPath, data, []int{n}, "hosts redirect")
			if err != nil {
				ent.DisableErr = err
			} else {
				ent.Disable, ent.DisableText = []repair.Op{op}, fmt.Sprintf("comment out line %d of %s", n, hostsPath)
			}
			e.Report(ent)
			continue
		}
		if len(pools) > 0 {
			// Blocking mining pools is what miners do to their rivals;
			// it harms nothing, so it is worth knowing, not fixing.
			pass.Report(checks.Finding{
				Kind: "pools-blocked", Subject: strconv.Itoa(n), Severity: checks.Info, Path: hostsPath, Line: n,
				Message:  fmt.Sprintf("/etc/hosts sends the mining pools %s nowhere: miner kits do this to keep rival miners off the machine", strings.Join(pools, ", ")),
				Impact:   "nothing breaks; it points at a miner having been here",
				Evidence: []string{en.Raw},
				NoFix:    "it harms nothing; remove it by hand once the machine is clean",
				Indicators: &checks.Indicators{Place: "hosts", Hosts: pools,
					Marks: []checks.Mark{{Code: "pools-blocked", Why: "rival miners' pools sent to " + en.Addr.String()}}},
			})
		}
	}
	return nil
}
