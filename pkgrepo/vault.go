package pkgrepo

import (
	"regexp"
	"strings"

	"rescue/parse/osrelease"
)

// The archives some distributions document for what their mirrors no
// longer carry: point releases that have been superseded (CentOS,
// AlmaLinux, Rocky Linux keep every one in a "vault") and releases past
// their end of life (Debian's archive). They are tried after the target's
// own repositories, only when no --mirror was given, and the plan says
// that a vault was used. Other distributions document none, and none is
// guessed for them.
//
//   - CentOS: https://vault.centos.org/ holds every release by its full
//     version (7.9.2009, 8.5.2111), as the CentOS wiki's "Vault" page says.
//   - AlmaLinux: https://vault.almalinux.org/ holds every minor release
//     (9.3, 8.9), as its wiki's mirror documentation says.
//   - Rocky Linux: https://dl.rockylinux.org/vault/rocky/ holds every
//     minor release, as its documentation says.
//   - Debian: http://archive.debian.org/debian(-security) holds the
//     releases removed from the mirrors (debian.org/distrib/archive),
//     signed by the same archive keys.

// vaultDoc names where a vault is documented, for the plan.
var vaultDoc = map[string]string{
	"centos":    "vault.centos.org, documented by CentOS",
	"almalinux": "vault.almalinux.org, documented by AlmaLinux",
	"rocky":     "dl.rockylinux.org/vault, documented by Rocky Linux",
	"debian":    "archive.debian.org, documented by Debian",
}

var centosRelease = regexp.MustCompile(`release (\d+\.\d+\.\d+)`)

// vaultRPM returns the vault repositories of an EL target.
func (r *Repos) vaultRPMRepos(osInfo osrelease.Info) []*rpmRepo {
	ver := osInfo.VersionID
	var bases []string
	switch osInfo.ID {
	case "centos":
		// The vault names releases by their full version, which only
		// /etc/centos-release gives.
		data, err := r.root.ReadFileLimit("/etc/centos-release", 4096)
		if err != nil {
			return nil
		}
		m := centosRelease.FindStringSubmatch(string(data))
		if m == nil {
			return nil
		}
		full := m[1]
		if strings.HasPrefix(full, "7.") || strings.HasPrefix(full, "6.") {
			for _, repo := range []string{"os", "updates"} {
				bases = append(bases, "https://vault.centos.org/"+full+"/"+repo+"/"+r.arch+"/")
			}
		} else {
			for _, repo := range []string{"BaseOS", "AppStream"} {
				bases = append(bases, "https://vault.centos.org/"+full+"/"+repo+"/"+r.arch+"/os/")
			}
		}
	case "almalinux":
		if !strings.Contains(ver, ".") {
			return nil
		}
		for _, repo := range []string{"BaseOS", "AppStream"} {
			bases = append(bases, "https://vault.almalinux.org/"+ver+"/"+repo+"/"+r.arch+"/os/")
		}
	case "rocky":
		if !strings.Contains(ver, ".") {
			return nil
		}
		for _, repo := range []string{"BaseOS", "AppStream"} {
			bases = append(bases, "https://dl.rockylinux.org/vault/rocky/"+ver+"/"+repo+"/"+r.arch+"/os/")
		}
	default:
		return nil
	}
	keys := keyDir(r.root, "/etc/pki/rpm-gpg", "")
	var out []*rpmRepo
	for _, b := range bases {
		out = append(out, &rpmRepo{id: "vault", baseurls: []string{b}, gpgkeys: keys, gpgCheck: true, where: "vault fallback: " + vaultDoc[osInfo.ID]})
	}
	return out
}

// vaultApt returns Debian's archive for the suites the target names.
func (r *Repos) vaultAptRepos(osInfo osrelease.Info) []*aptRepo {
	if osInfo.ID != "debian" {
		return nil
	}
	var out []*aptRepo
	seen := map[string]bool{}
	for _, a := range r.apt {
		uri := "http://archive.debian.org/debian"
		if strings.Contains(a.suite, "security") || strings.Contains(a.uri, "security") {
			uri = "http://archive.debian.org/debian-security"
		}
		v := &aptRepo{uri: uri, suite: a.suite, components: a.components, signedBy: a.signedBy, where: "vault fallback: " + vaultDoc["debian"]}
		if a.uri != uri && !seen[v.String()] {
			seen[v.String()] = true
			out = append(out, v)
		}
	}
	return out
}
