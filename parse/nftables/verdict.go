package nftables

import (
	"fmt"
	"strconv"
	"strings"
)

// Verdict is what an input hook does with a new connection.
type Verdict struct {
	// Blocked is set when the connection is certainly dropped or
	// rejected; Allowed when every input hook certainly accepts it.
	// Neither: it depends on what cannot be known offline (source
	// addresses, interfaces, named sets, what rescue does not read).
	Blocked, Allowed bool
	// Chain is the base chain that decides (for Blocked, the one that
	// drops); Rule the deciding rule, nil when the chain's policy decides.
	Chain *Chain
	Rule  *Rule
	// Why says it in words.
	Why string
}

type match int

const (
	matchNo    match = iota // the rule cannot apply to the connection
	matchYes                // it applies to every such connection
	matchMaybe              // to some (a source, an interface, a set)
)

// InputChains returns the base chains on the input hook of the families
// an IPv4 connection passes (ip and inet), in order.
func (rs *Ruleset) InputChains() []*Chain {
	var out []*Chain
	for _, ch := range rs.Chains {
		if ch.Hook == "input" && (ch.Family == "ip" || ch.Family == "inet") {
			out = append(out, ch)
		}
	}
	return out
}

// TCPIn judges a new IPv4 TCP connection to port from an unknown address.
// Every input base chain sees the packet (an accept in one does not spare
// it the others), so one that certainly drops it decides.
func (rs *Ruleset) TCPIn(port int) Verdict {
	if len(rs.Problems) > 0 {
		return Verdict{Why: "nft refuses this ruleset: " + rs.Problems[0]}
	}
	chains := rs.InputChains()
	if len(chains) == 0 {
		return Verdict{Allowed: true, Why: "no input hook"}
	}
	all := true
	var open, first Verdict
	for _, ch := range chains {
		v, done := rs.walk(ch, ch, port, 0)
		if !done {
			v = Verdict{Chain: ch}
			switch ch.Policy {
			case "drop":
				v.Blocked = true
				v.Why = fmt.Sprintf("no rule of chain %s accepts TCP port %d and its policy is drop", ch.ID(), port)
			default:
				v.Allowed = true
				v.Why = "the policy is accept"
			}
		}
		if v.Blocked {
			return v
		}
		if v.Allowed && first.Why == "" {
			first = v
		}
		if !v.Allowed {
			all = false
			if open.Why == "" {
				open = v
			}
		}
	}
	if all {
		if len(chains) > 1 {
			first.Why = "every input hook accepts it; the first: " + first.Why
		}
		return first
	}
	return open
}

// walk runs chain for the connection; done says a verdict was reached or
// cannot be (an accept or a jump rescue cannot judge was met).
func (rs *Ruleset) walk(base, ch *Chain, port, depth int) (Verdict, bool) {
	if depth > 16 {
		return Verdict{Chain: base, Why: "chains nested too deep"}, true
	}
	for _, r := range ch.Rules {
		m, verdict, target := judge(r.Words, port)
		if m == matchNo {
			continue
		}
		where := fmt.Sprintf("%s line %d", r.File, r.Line)
		switch verdict {
		case "accept":
			if m == matchYes {
				return Verdict{Allowed: true, Chain: base, Rule: r, Why: where + " accepts it"}, true
			}
			return Verdict{Chain: base, Rule: r, Why: where + " accepts it from some places only"}, true
		case "drop", "reject":
			if m == matchYes {
				return Verdict{Blocked: true, Chain: base, Rule: r, Why: fmt.Sprintf("%s %ss it", where, verdict)}, true
			}
		case "return":
			if m == matchYes {
				return Verdict{}, false
			}
			return Verdict{Chain: base, Rule: r, Why: where + " returns early for some connections"}, true
		case "jump", "goto":
			next := rs.chainIn(ch, target)
			if next == nil {
				return Verdict{Chain: base, Rule: r, Why: fmt.Sprintf("%s jumps to %s, which rescue does not judge", where, target)}, true
			}
			v, done := rs.walk(base, next, port, depth+1)
			if done {
				if m == matchMaybe && v.Blocked {
					continue // only some connections go there
				}
				return v, true
			}
			if verdict == "goto" && m == matchYes {
				// A goto does not come back: the base chain's policy decides.
				return Verdict{}, false
			}
		case "":
			// No verdict: counters, logs, marks go on.
		default:
			return Verdict{Chain: base, Rule: r, Why: fmt.Sprintf("%s ends in %s, which rescue does not judge", where, verdict)}, true
		}
	}
	return Verdict{}, false
}

func (rs *Ruleset) chainIn(from *Chain, name string) *Chain {
	for _, ch := range rs.Chains {
		if ch.Family == from.Family && ch.Table == from.Table && ch.Name == name {
			return ch
		}
	}
	return nil
}

// judge reads a rule's matches against a new IPv4 TCP connection to port
// from an unknown address, and its verdict ("" when it has none).
func judge(ws []string, port int) (m match, verdict, target string) {
	m = matchYes
	narrow := func() {
		if m == matchYes {
			m = matchMaybe
		}
	}
	for i := 0; i < len(ws); i++ {
		w := ws[i]
		// value reads an operator and a value (a word, a list a,b or a
		// set { ... }); neg says the operator was "!=".
		value := func() (vals []string, neg, ok bool) {
			j := i + 1
			if j < len(ws) {
				switch ws[j] {
				case "!=":
					neg = true
					j++
				case "==", "eq":
					j++
				case "<", ">", "<=", ">=", "lt", "gt", "le", "ge", "&", "|", "and", "or":
					i = j + 1
					return nil, false, false
				}
			}
			if j >= len(ws) {
				i = j
				return nil, neg, false
			}
			if ws[j] == "{" {
				j++
				for ; j < len(ws) && ws[j] != "}"; j++ {
					if ws[j] != "," {
						vals = append(vals, ws[j])
					}
				}
				i = j
				return vals, neg, true
			}
			vals = append(vals, ws[j])
			for j+2 < len(ws) && ws[j+1] == "," {
				vals = append(vals, ws[j+2])
				j += 2
			}
			i = j
			return vals, neg, true
		}
		// member applies a set test: in says whether the connection's
		// field is in the values, known whether that can be told.
		member := func(in, known, neg bool) {
			switch {
			case !known:
				narrow()
			case in == neg:
				m = matchNo
			}
		}
		switch w {
		case "accept", "drop", "reject", "return", "queue", "continue":
			if verdict == "" {
				verdict = w
			}
			if w == "reject" || w == "queue" {
				return m, verdict, "" // "reject with ...", "queue num ..." options follow
			}
		case "jump", "goto":
			verdict = w
			if i+1 < len(ws) {
				target = ws[i+1]
				i++
			}
		case "vmap":
			// A verdict map decides by a value rescue reads only for ct
			// state: a map without "new" leaves the connection alone.
			var keys []string
			state := i >= 1 && ws[i-1] == "state"
			vals, _, _ := value()
			for k, v := range vals {
				switch {
				case v == ":" && k > 0:
					keys = append(keys, vals[k-1])
				case strings.Contains(v, ":"):
					keys = append(keys, v[:strings.Index(v, ":")])
				}
			}
			if state {
				if !contains(keys, "new") {
					return matchNo, "", ""
				}
			}
			return m, "vmap", ""
		case "tcp", "th":
			if i+1 >= len(ws) {
				return matchNo, "", ""
			}
			field := ws[i+1]
			i++
			switch field {
			case "dport":
				vals, neg, ok := value()
				in, known := inPorts(vals, port)
				member(in, known && ok, neg)
			default:
				value()
				narrow() // sport, flags, options: some connections
			}
		case "udp", "udplite", "icmp", "icmpv6", "sctp", "dccp", "ip6", "igmp", "esp", "ah", "arp", "vlan":
			return matchNo, "", "" // never a TCP/IPv4 connection
		case "ip":
			if i+1 >= len(ws) {
				continue
			}
			field := ws[i+1]
			i++
			vals, neg, ok := value()
			switch field {
			case "protocol":
				member(contains(vals, "tcp") || contains(vals, "6"), ok, neg)
			case "saddr":
				if ok && !neg && len(vals) == 1 && vals[0] == "0.0.0.0/0" {
					continue
				}
				narrow()
			case "version":
				member(contains(vals, "4"), ok, neg)
			default:
				narrow()
			}
		case "meta", "l4proto", "nfproto", "iif", "iifname", "oif", "oifname", "mark", "pkttype", "iiftype", "skuid", "skgid":
			field := w
			if w == "meta" {
				if i+1 >= len(ws) {
					continue
				}
				field = ws[i+1]
				i++
			}
			if i+1 < len(ws) && ws[i+1] == "set" {
				i += 2 // "meta mark set 1": a statement, not a match
				continue
			}
			vals, neg, ok := value()
			switch field {
			case "l4proto", "protocol":
				member(contains(vals, "tcp") || contains(vals, "6"), ok, neg)
			case "nfproto":
				member(contains(vals, "ipv4"), ok, neg)
			case "iif", "iifname":
				// The loopback interface only: never the operator.
				if ok && !neg && len(vals) == 1 && vals[0] == "lo" {
					return matchNo, "", ""
				}
				if !(ok && neg && len(vals) == 1 && vals[0] == "lo") {
					narrow()
				}
			default:
				narrow()
			}
		case "ct":
			if i+1 >= len(ws) {
				continue
			}
			field := ws[i+1]
			i++
			if i+1 < len(ws) && ws[i+1] == "vmap" {
				continue
			}
			if i+1 < len(ws) && ws[i+1] == "set" {
				i += 2
				continue
			}
			vals, neg, ok := value()
			switch field {
			case "state":
				member(contains(vals, "new"), ok, neg)
			default:
				narrow()
			}
		case "counter":
			// "counter [packets N bytes N]" or "counter name X".
			for i+2 < len(ws) && (ws[i+1] == "packets" || ws[i+1] == "bytes" || ws[i+1] == "name") {
				i += 2
			}
		case "log":
			for i+2 < len(ws) && (ws[i+1] == "prefix" || ws[i+1] == "level" || ws[i+1] == "group" || ws[i+1] == "snaplen" || ws[i+1] == "queue-threshold" || ws[i+1] == "flags") {
				i += 2
			}
		case "comment":
			i++
		case "notrack":
		default:
			// A match rescue does not read ("limit rate ...", "fib ...",
			// a named set): it may narrow the rule.
			narrow()
		}
	}
	return m, verdict, target
}

func contains(vals []string, s string) bool {
	for _, v := range vals {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// inPorts reports whether port is among nft port values ("22", "20-30",
// "ssh"), and whether that can be told (a named set "@s" cannot).
func inPorts(vals []string, port int) (in, known bool) {
	known = len(vals) > 0
	for _, v := range vals {
		if strings.HasPrefix(v, "@") || strings.HasPrefix(v, "$") {
			known = false
			continue
		}
		lo, hi, isRange := strings.Cut(v, "-")
		a, err1 := portNum(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = portNum(hi)
		}
		if err1 != nil || err2 != nil {
			known = false
			continue
		}
		if port >= a && port <= b {
			in = true
		}
	}
	if in {
		known = true
	}
	return in, known
}

func portNum(s string) (int, error) {
	switch s {
	case "ssh":
		return 22, nil
	case "http":
		return 80, nil
	case "https":
		return 443, nil
	}
	return strconv.Atoi(s)
}
