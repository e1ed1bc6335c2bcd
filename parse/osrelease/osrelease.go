// Package osrelease parses os-release(5) files and tells the distribution
// family, which decides canonical modes, library paths and package tools.
package osrelease

import (
	"strconv"
	"strings"
)

// Family groups distributions that share layout and tooling.
type Family string

// The families rescue knows.
const (
	RHEL    Family = "rhel"   // RHEL, CentOS, Rocky, Alma, Fedora, Oracle, Amazon, Alibaba Cloud Linux, Anolis
	Debian  Family = "debian" // Debian, Ubuntu
	SUSE    Family = "suse"
	Unknown Family = "unknown"
)

// Info is what os-release says.
type Info struct {
	ID         string            `json:"id"`
	IDLike     []string          `json:"id_like,omitempty"`
	VersionID  string            `json:"version_id,omitempty"`
	PrettyName string            `json:"pretty_name,omitempty"`
	Family     Family            `json:"family"`
	Fields     map[string]string `json:"-"`
}

// Major returns the leading number of VERSION_ID (9 for "9.3"), or 0.
func (i Info) Major() int {
	v, _, _ := strings.Cut(i.VersionID, ".")
	n, _ := strconv.Atoi(v)
	return n
}

// Parse parses os-release content: KEY=value lines, values optionally quoted
// with shell quoting. Unknown or malformed lines are ignored, as systemd
// does.
func Parse(data []byte) Info {
	fields := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimRight(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		fields[k] = unquote(v)
	}
	info := Info{
		ID:         strings.ToLower(fields["ID"]),
		VersionID:  fields["VERSION_ID"],
		PrettyName: fields["PRETTY_NAME"],
		Fields:     fields,
	}
	if l := strings.Fields(strings.ToLower(fields["ID_LIKE"])); len(l) > 0 {
		info.IDLike = l
	}
	info.Family = FamilyOf(info.ID, info.IDLike)
	return info
}

func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		q := v[0]
		v = v[1 : len(v)-1]
		if q == '"' {
			r := strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`")
			v = r.Replace(v)
		}
	}
	return v
}

// FamilyOf classifies an ID and ID_LIKE list.
func FamilyOf(id string, like []string) Family {
	for _, x := range append([]string{id}, like...) {
		switch x {
		case "rhel", "centos", "fedora", "rocky", "almalinux", "ol", "amzn", "alinux", "anolis", "openeuler", "tencentos", "circle", "eurolinux", "cloudlinux", "virtuozzo", "kylin":
			return RHEL
		case "debian", "ubuntu", "linuxmint", "raspbian", "kali", "devuan", "uos", "deepin":
			return Debian
		case "suse", "sles", "opensuse", "opensuse-leap", "opensuse-tumbleweed", "sled", "sle-micro":
			return SUSE
		}
	}
	return Unknown
}
