package sshd

import (
	"fmt"
	"strings"

	"rescue/checks"
	"rescue/parse/sshdconfig"
)

// safestFirst lists, for the access keywords that take a yes/no or a
// choice, their values from the one that lets the fewest in to the one that
// lets the most. A line of one of these that sshd refuses stops sshd, so
// nobody gets in over SSH; the fix puts the most restrictive valid value in
// its place (sshd starts again and nothing is allowed that the broken line
// could have meant to forbid) and offers the others as alternatives.
// PubkeyAuthentication and UsePAM start from yes: keys are the safest way
// in, and PAM is where the account and session rules live, so turning
// either off would not restrict anything worth restricting.
var safestFirst = map[string][]string{
	"permitrootlogin":                 {"no", "prohibit-password", "forced-commands-only", "yes"},
	"passwordauthentication":          {"no", "yes"},
	"permitemptypasswords":            {"no", "yes"},
	"kbdinteractiveauthentication":    {"no", "yes"},
	"challengeresponseauthentication": {"no", "yes"},
	"hostbasedauthentication":         {"no", "yes"},
	"ignorerhosts":                    {"yes", "shosts-only", "no"},
	"strictmodes":                     {"yes", "no"},
	"pubkeyauthentication":            {"yes", "no"},
	"usepam":                          {"yes", "no"},
	"allowtcpforwarding":              {"no", "local", "remote", "yes"},
}

// safeFixes offers, for a line of an access keyword that sshd refuses, the
// change that lets sshd start without widening access: the same value under
// the spelling this sshd knows, or the most restrictive valid value. It sets NoFix for the keywords where
// no value can be chosen without guessing (user lists, authentication
// methods, key sources).
func (c *checker) safeFixes(f *checks.Finding, d *sshdconfig.Directive) {
	data := c.read(d.Path)
	indent := d.Raw[:len(d.Raw)-len(strings.TrimLeft(d.Raw, " \t"))]
	set := func(keyword, value, why string) {
		f.AddFix(checks.ReplaceLine(c.pass.Root, d.Path, data, d.Line, indent+keyword+" "+value,
			fmt.Sprintf("Set %s %s in place of %s line %d (%s)", keyword, value, d.Path, d.Line, why)))
	}
	k := keywords[d.Key]
	tooNew := k.since > 0 && c.version > 0 && c.version < k.since
	values, ok := safestFirst[d.Key]
	switch {
	case d.InMatch() && k.scope&inMatch == 0:
		f.NoFix = fmt.Sprintf("%s is not allowed inside a Match block; move it out by hand or decide which users it was meant for (sshd does not start until then)", d.Keyword)
		return
	case !ok || tooNew:
		f.NoFix = fmt.Sprintf("%s decides who may log in and how, and no value can be put in its place without guessing what was meant: correct the line by hand (sshd does not start until then)", d.Keyword)
		return
	}
	offered := map[string]bool{}
	if d.Key == "permitrootlogin" && len(d.Args) > 0 && strings.EqualFold(d.Args[0], "prohibit-password") && c.versionOr(1000) < 700 {
		set(d.Keyword, "without-password", "the same setting under the name OpenSSH before 7.0 knows")
		offered["without-password"] = true
	}
	first := true
	for _, v := range values {
		if d.Key == "permitrootlogin" && v == "prohibit-password" && c.versionOr(1000) < 700 {
			v = "without-password"
		}
		if !c.validValue(d.Key, v) || offered[v] {
			continue
		}
		offered[v] = true
		why := "a less restrictive alternative"
		if first {
			why = "the most restrictive valid value: sshd starts, and allows nothing the line could have meant to forbid"
			first = false
		}
		set(d.Keyword, v, why)
	}
}

// validValue reports whether this sshd takes value for the keyword.
func (c *checker) validValue(key, value string) bool {
	k := keywords[key]
	switch k.arg {
	case argFlag:
		return value == "yes" || value == "no"
	case argChoice:
		if key == "permitrootlogin" && value == "prohibit-password" && c.versionOr(1000) < 700 {
			return false
		}
		for _, ch := range k.choices {
			if ch == value {
				return true
			}
		}
	}
	return false
}
