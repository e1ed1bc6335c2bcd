package pam

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"rescue/parse/pamconf"
	"rescue/sysroot"
)

// fatal reports whether a failure (PAM_AUTH_ERR) of the line's module ends
// the stack in failure.
func fatal(control string) bool {
	switch control {
	case "required", "requisite":
		return true
	}
	a := pamconf.Actions(control)
	if a == nil {
		return false
	}
	act, ok := a["auth_err"]
	if !ok {
		act = a["default"]
	}
	return act == "bad" || act == "die"
}

// succeedIfOptions are pam_succeed_if's arguments that are not conditions.
var succeedIfOptions = map[string]bool{
	"debug": true, "use_uid": true, "quiet": true, "quiet_fail": true, "quiet_success": true, "audit": true,
}

// deniesRoot says whether the module line refuses root, and how.
func deniesRoot(r *sysroot.Root, l pamconf.Line) (string, bool) {
	switch pamconf.ModuleName(l.Module) {
	case "pam_succeed_if.so":
		return succeedIfDeniesRoot(l.Args)
	case "pam_listfile.so":
		return listfileDeniesRoot(r, l.Args)
	}
	return "", false
}

// succeedIfDeniesRoot evaluates pam_succeed_if's conditions (all must hold)
// for root; a condition on something unknown here (a tty, a group) is not
// taken as refusing.
func succeedIfDeniesRoot(args []string) (string, bool) {
	var conds []string
	for _, a := range args {
		if a == "use_uid" {
			// The condition is about the calling user, not the target.
			return "", false
		}
		if !succeedIfOptions[a] {
			conds = append(conds, a)
		}
	}
	for i := 0; i+2 < len(conds); i += 3 {
		field, op, val := conds[i], conds[i+1], conds[i+2]
		holds, known := rootCondition(field, op, val)
		if known && !holds {
			return fmt.Sprintf("%s %s %s", field, op, val), true
		}
	}
	return "", false
}

// rootCondition evaluates one pam_succeed_if condition for root (user
// "root", uid 0, gid 0).
func rootCondition(field, op, val string) (holds, known bool) {
	var s string
	numeric := false
	switch field {
	case "user":
		s = "root"
	case "uid", "gid":
		s, numeric = "0", true
	default:
		return false, false
	}
	switch op {
	case "=":
		return s == val, true
	case "!=":
		return s != val, true
	case "=~":
		m, err := path.Match(val, s)
		return m, err == nil
	case "!~":
		m, err := path.Match(val, s)
		return !m, err == nil
	case "in":
		return slices.Contains(strings.Split(val, ":"), s), true
	case "notin":
		return !slices.Contains(strings.Split(val, ":"), s), true
	}
	if !numeric {
		return false, false
	}
	n, err := strconv.ParseInt(val, 10, 64)
	if err != nil {
		return false, false
	}
	switch op {
	case "eq":
		return n == 0, true
	case "ne":
		return n != 0, true
	case "<", "lt":
		return 0 < n, true
	case "<=", "le":
		return 0 <= n, true
	case ">", "gt":
		return 0 > n, true
	case ">=", "ge":
		return 0 >= n, true
	}
	return false, false
}

// listfileDeniesRoot evaluates a pam_listfile item=user line for root.
func listfileDeniesRoot(r *sysroot.Root, args []string) (string, bool) {
	opt := map[string]string{}
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			opt[k] = v
		}
	}
	if opt["item"] != "user" || opt["file"] == "" {
		return "", false
	}
	data, err := r.ReadFileLimit(opt["file"], 1<<20)
	if err != nil {
		return "", false
	}
	listed := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "root" {
			listed = true
		}
	}
	switch {
	case opt["sense"] == "deny" && listed:
		return fmt.Sprintf("root is listed in %s (sense=deny)", opt["file"]), true
	case opt["sense"] == "allow" && !listed:
		return fmt.Sprintf("root is not listed in %s (sense=allow)", opt["file"]), true
	}
	return "", false
}
