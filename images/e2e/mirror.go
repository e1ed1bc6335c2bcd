package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"rescue/images"
	"rescue/images/boot"
)

// The faults whose repair needs a package that no cache holds: rescue fix
// gets no --packages, the image's apt cache is empty (as on a real cloud
// image), and the package comes from a mirror the suite serves over HTTP
// on the loopback: Debian's own signed InRelease and Packages files with
// the image's .debs (images.DebianMirror), checked with the image's own
// archive keys.
func mirrorScenarios() []*Scenario {
	return []*Scenario{
		{
			Name: "pam-unix-fetched", Fault: "pam_unix.so deleted, no package in any cache", Mirror: true,
			Break: func(r string, _ *images.DebianImage) error {
				return removeFirst(r, "/usr/lib/x86_64-linux-gnu/security/pam_unix.so", "/lib/x86_64-linux-gnu/security/pam_unix.so")
			},
			Broken:  Expect{Class: boot.LoginRefused, Note: "Login incorrect; the fix downloads libpam-modules from the suite's mirror"},
			Paths:   []string{"/usr/lib/x86_64-linux-gnu/security/pam_unix.so", "/lib/x86_64-linux-gnu/security/pam_unix.so"},
			Finding: "pam/module-missing",
		},
	}
}

// mirrors are the HTTP mirrors served for the process, by .debs directory.
var mirrors struct {
	sync.Mutex
	urls map[string]string
}

// mirrorURL serves (once per process) the apt mirror of the base image's
// root and returns its URL.
func mirrorURL(ctx context.Context, base *images.DebianImage) (string, error) {
	mirrors.Lock()
	defer mirrors.Unlock()
	if u, ok := mirrors.urls[base.Debs]; ok {
		return u, nil
	}
	tarball := strings.TrimSuffix(base.Debs, ".debs") + ".tar"
	list, err := exec.CommandContext(ctx, "tar", "-xOf", tarball, "./etc/apt/sources.list").Output()
	if err != nil {
		return "", fmt.Errorf("reading the root's sources.list from %s: %w", tarball, err)
	}
	dir, err := images.DebianMirror(ctx, list, base.Debs, "")
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go http.Serve(ln, http.FileServer(http.Dir(dir)))
	u := "http://" + ln.Addr().String()
	if mirrors.urls == nil {
		mirrors.urls = map[string]string{}
	}
	mirrors.urls[base.Debs] = u
	return u, nil
}

// mirrorArgs are the flags that make a scenario's fix fetch from the
// mirror: no --packages, --mirror, and a cache of its own.
func (s *Suite) mirrorArgs(sc *Scenario) []string {
	u, err := mirrorURL(context.Background(), s.Base)
	if err != nil {
		s.Env.logf("%s: no mirror: %v", sc.Name, err)
		u = "http://127.0.0.1:1/no-mirror"
	}
	return []string{"--mirror", u, "--cache", filepath.Join(s.Env.Out, sc.Name, "cache")}
}
