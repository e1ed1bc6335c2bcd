package images

import (
	"fmt"
	"strconv"
	"strings"
)

// Release is a Debian release the builders make roots and images of. What
// differs between releases for building them is here; what differs on the
// built systems (glibc, PAM, merged /usr) is for rescue to read from the
// systems themselves.
type Release struct {
	// Suite is the codename mmdebstrap and the mirror know ("bookworm").
	Suite string
	// Version is the major version number (12).
	Version int
	// Usr is the /usr layout mmdebstrap gives the suite by default.
	Usr UsrLayout
	// KernelMajor is the leading number of the release's kernel ABIs
	// ("6" for linux-image-6.1.0-…), to find its older kernels.
	KernelMajor string
}

// UsrLayout says whether /bin, /sbin and /lib are links into /usr.
type UsrLayout string

// The /usr layouts.
const (
	// UsrMerged: /bin, /sbin, /lib (and /lib64 on amd64) are links to
	// usr/bin, usr/sbin, usr/lib (usr/lib64).
	UsrMerged UsrLayout = "merged"
	// UsrSplit: /bin, /sbin and /lib are directories of their own.
	UsrSplit UsrLayout = "split"
)

// The releases the Debian mirror serves.
var (
	Bullseye = Release{Suite: "bullseye", Version: 11, Usr: UsrSplit, KernelMajor: "5"}
	Bookworm = Release{Suite: "bookworm", Version: 12, Usr: UsrMerged, KernelMajor: "6"}
	Trixie   = Release{Suite: "trixie", Version: 13, Usr: UsrMerged, KernelMajor: "6"}
)

// Releases are the releases in version order.
var Releases = []Release{Bullseye, Bookworm, Trixie}

// String is "debian12".
func (r Release) String() string { return "debian" + strconv.Itoa(r.Version) }

// LookupRelease finds a release by codename ("bullseye"), number ("11")
// or name ("debian11").
func LookupRelease(s string) (Release, bool) {
	s = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "debian")
	for _, r := range Releases {
		if s == r.Suite || s == strconv.Itoa(r.Version) {
			return r, true
		}
	}
	return Release{}, false
}

// ParseReleases reads a comma-separated list of releases; "all" is every
// release.
func ParseReleases(s string) ([]Release, error) {
	if strings.TrimSpace(s) == "all" {
		return Releases, nil
	}
	var out []Release
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		r, ok := LookupRelease(f)
		if !ok {
			return nil, fmt.Errorf("unknown Debian release %q (want bullseye, bookworm, trixie or 11, 12, 13)", f)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Debian release in %q", s)
	}
	return out, nil
}

// mmdebstrap's hook directories, installed with it.
const mmdebstrapHooks = "/usr/share/mmdebstrap/hooks"

// usrHooks are the mmdebstrap arguments that give the root the asked-for
// /usr layout when it is not the suite's default: debootstrap's own way of
// merging (the links made before the packages are unpacked, as
// debian-installer made Debian 11 systems), or the no-merged-usr hooks.
func (o DebianRootOptions) usrHooks() ([]string, error) {
	switch o.Usr {
	case "":
		return nil, nil
	case UsrMerged:
		return []string{"--setup-hook=" + mmdebstrapHooks + "/merged-usr/setup00.sh"}, nil
	case UsrSplit:
		return []string{"--hook-dir=" + mmdebstrapHooks + "/no-merged-usr"}, nil
	}
	return nil, fmt.Errorf("unknown /usr layout %q (want %q or %q)", o.Usr, UsrMerged, UsrSplit)
}
