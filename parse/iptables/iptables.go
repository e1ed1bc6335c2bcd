// Package iptables parses iptables-save output, the format of
// /etc/sysconfig/iptables, /etc/iptables/rules.v4 and ufw's user.rules,
// and judges what the filter table's INPUT chain does with a new TCP
// connection to a port from an unknown address: the question "does this
// firewall let SSH in after a reboot?".
package iptables

import (
	"fmt"
	"strconv"
	"strings"
)

// Rule is one "-A CHAIN ..." line of the filter table.
type Rule struct {
	Chain string
	Line  int // 1-based
	Raw   string
	Args  []string // the words after "-A CHAIN"
}

// Chain is a chain of the filter table with its policy ("-" for a user
// chain).
type Chain struct {
	Name   string
	Policy string
	Line   int
}

// Table is the filter table of a file.
type Table struct {
	Chains map[string]*Chain
	Rules  []Rule
	// Commit is the line of the filter table's COMMIT, 0 when missing
	// (iptables-restore then refuses the whole file).
	Commit int
	// Found says whether the file has a filter table at all.
	Found bool
}

// Parse reads the *filter table of iptables-save content. Other tables are
// skipped. It never fails: lines it cannot read are left out.
func Parse(data []byte) *Table {
	t := &Table{Chains: map[string]*Chain{}}
	in := false
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(strings.TrimRight(raw, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		switch {
		case line[0] == '*':
			in = line == "*filter"
			t.Found = t.Found || in
		case !in:
		case line == "COMMIT":
			t.Commit = i + 1
			in = false
		case line[0] == ':':
			f := strings.Fields(line[1:])
			if len(f) >= 2 {
				t.Chains[f[0]] = &Chain{Name: f[0], Policy: f[1], Line: i + 1}
			}
		case strings.HasPrefix(line, "-A "):
			f := split(line)
			if len(f) >= 2 {
				t.Rules = append(t.Rules, Rule{Chain: f[1], Line: i + 1, Raw: raw, Args: f[2:]})
			}
		}
	}
	return t
}

// split splits a rule line into words, keeping double-quoted strings
// (comments) together.
func split(s string) []string {
	var out []string
	var b strings.Builder
	quoted, has := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quoted, has = !quoted, true
		case c == '\\' && quoted && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case (c == ' ' || c == '\t') && !quoted:
			if has {
				out = append(out, b.String())
				b.Reset()
				has = false
			}
		default:
			b.WriteByte(c)
			has = true
		}
	}
	if has {
		out = append(out, b.String())
	}
	return out
}

// Verdict is what the INPUT chain does with a new connection.
type Verdict struct {
	// Blocked is set when the connection is certainly dropped or
	// rejected; Allowed when a rule certainly accepts it. Neither: it
	// depends on what cannot be known offline (source addresses,
	// interfaces, rules rescue does not read).
	Blocked, Allowed bool
	// Rule is the deciding rule (nil when the chain policy decides).
	Rule *Rule
	// Policy is the INPUT policy when it decides.
	Policy string
	// Why says it in words.
	Why string
}

// match is what a rule says about a new TCP connection to the port from
// an unknown address.
type match int

const (
	matchNo    match = iota // the rule cannot apply to it
	matchYes                // the rule applies to every such connection
	matchMaybe              // the rule applies to some (a source, an interface)
)

// TCPIn judges a new TCP connection to port arriving on the INPUT chain.
func (t *Table) TCPIn(port int) Verdict {
	if !t.Found {
		return Verdict{Why: "no filter table"}
	}
	pol := "ACCEPT"
	if c := t.Chains["INPUT"]; c != nil {
		pol = c.Policy
	}
	return t.TCPInChain("INPUT", port, pol)
}

// TCPInChain judges the connection on chain, with policy deciding what no
// rule decides (ufw's user chain falls through to the policy of
// /etc/default/ufw).
func (t *Table) TCPInChain(chain string, port int, pol string) Verdict {
	v, _ := t.walk(chain, port, 0)
	if !v.Blocked && !v.Allowed && v.Rule == nil {
		pol = strings.ToUpper(pol)
		v.Policy = pol
		switch pol {
		case "DROP", "REJECT":
			v.Blocked = true
			v.Why = fmt.Sprintf("no rule of %s accepts TCP port %d and the policy is %s", chain, port, pol)
		case "ACCEPT":
			v.Allowed = true
			v.Why = "the policy is ACCEPT"
		}
	}
	return v
}

// walk runs chain for the connection; done says a verdict was reached
// (or cannot be, when an uncertain accept was met).
func (t *Table) walk(chain string, port, depth int) (Verdict, bool) {
	if depth > 16 {
		return Verdict{Why: "chains nested too deep"}, true
	}
	for i := range t.Rules {
		r := &t.Rules[i]
		if r.Chain != chain {
			continue
		}
		m, target := judge(r.Args, port)
		if m == matchNo {
			continue
		}
		switch target {
		case "ACCEPT":
			if m == matchYes {
				return Verdict{Allowed: true, Rule: r, Why: fmt.Sprintf("line %d accepts it", r.Line)}, true
			}
			// Accepted from some sources or interfaces: whether the
			// operator's connection is one of them is unknown.
			return Verdict{Rule: r, Why: fmt.Sprintf("line %d accepts it from some places only", r.Line)}, true
		case "DROP", "REJECT":
			if m == matchYes {
				return Verdict{Blocked: true, Rule: r, Why: fmt.Sprintf("line %d %ss it", r.Line, strings.ToLower(target))}, true
			}
		case "RETURN":
			if m == matchYes {
				return Verdict{}, false
			}
			return Verdict{Rule: r, Why: fmt.Sprintf("line %d returns early for some connections", r.Line)}, true
		case "", "LOG", "MARK", "CONNMARK", "NFLOG", "AUDIT", "TRACE", "CT":
			// Non-terminating targets go on.
		default:
			if _, ok := t.Chains[target]; !ok {
				return Verdict{Rule: r, Why: fmt.Sprintf("line %d jumps to %s, which rescue does not judge", r.Line, target)}, true
			}
			v, done := t.walk(target, port, depth+1)
			if done {
				if m == matchMaybe && v.Blocked {
					continue // only some connections go there
				}
				return v, true
			}
		}
	}
	return Verdict{}, false
}

// judge reads a rule's matches and its target.
func judge(args []string, port int) (match, string) {
	m := matchYes
	target := ""
	proto := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		neg := false
		if a == "!" {
			neg = true
			a = next()
		}
		switch a {
		case "-j", "--jump", "-g", "--goto":
			target = next()
			continue
		case "-p", "--protocol":
			proto = strings.ToLower(next())
			ok := proto == "tcp" || proto == "all" || proto == "6"
			if ok == neg {
				return matchNo, target
			}
		case "--dport", "--destination-port":
			if inPorts(next(), port) == neg {
				return matchNo, target
			}
		case "--dports", "--destination-ports":
			if inPorts(next(), port) == neg {
				return matchNo, target
			}
		case "--sport", "--source-port", "--sports", "--source-ports":
			next()
			m = matchMaybe
		case "-s", "--source", "-i", "--in-interface", "--src-range", "--mac-source", "--set", "--rcheck", "--update", "--name", "--seconds", "--hitcount", "--limit", "--limit-burst", "--connlimit-above", "--match-set", "--uid-owner":
			v := next()
			if (a == "-s" || a == "--source") && !neg && (v == "0.0.0.0/0" || v == "::/0") {
				continue
			}
			if (a == "-i" || a == "--in-interface") && !neg && v == "lo" {
				return matchNo, target // loopback only: never the operator
			}
			m = matchMaybe
		case "--state", "--ctstate":
			states := strings.Split(strings.ToUpper(next()), ",")
			has := false
			for _, s := range states {
				has = has || s == "NEW"
			}
			if has == neg {
				return matchNo, target
			}
		case "--tcp-flags":
			next()
			next()
			m = matchMaybe
		case "-m", "--match", "--comment", "--reject-with", "--log-prefix", "--log-level", "-d", "--destination", "-o", "--out-interface":
			v := next()
			if (a == "-d" || a == "--destination") && !(v == "0.0.0.0/0" || v == "::/0") {
				m = matchMaybe
			}
		case "--syn":
		default:
			if strings.HasPrefix(a, "-") {
				// A match rescue does not read: it may narrow the rule.
				m = matchMaybe
			}
		}
	}
	return m, target
}

// inPorts reports whether port is in an iptables port list: "22",
// "22:25", "80,443,22", a service name for ssh.
func inPorts(spec string, port int) bool {
	for _, p := range strings.Split(spec, ",") {
		lo, hi, isRange := strings.Cut(p, ":")
		a, err1 := portNum(lo, 0)
		b := a
		var err2 error
		if isRange {
			b, err2 = portNum(hi, 65535)
		}
		if err1 == nil && err2 == nil && port >= a && port <= b {
			return true
		}
	}
	return false
}

func portNum(s string, def int) (int, error) {
	switch s {
	case "":
		return def, nil
	case "ssh":
		return 22, nil
	}
	return strconv.Atoi(s)
}
