//go:build e2e

package images

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestBuildBootRoot builds (or finds in the cache) the Debian boot roots of
// the releases E2E_RELEASES names (default all):
// `E2E_CACHE=DIR go test -tags e2e -run TestBuildBootRoot ./images/`.
func TestBuildBootRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mmdebstrap needs root here")
	}
	cache := os.Getenv("E2E_CACHE")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	rels := Releases
	if v := os.Getenv("E2E_RELEASES"); v != "" {
		var err error
		if rels, err = ParseReleases(v); err != nil {
			t.Fatal(err)
		}
	}
	for _, rel := range rels {
		t0 := time.Now()
		r, err := BuildBootRoot(ctx, rel, cache)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s root %s in %s", rel, r.Tarball, time.Since(t0).Round(time.Second))
		for _, pkg := range []string{"libc6_", "bash_", "login_", "libpam-modules_", "systemd_", "linux-image-"} {
			m, _ := filepath.Glob(filepath.Join(r.Debs, pkg+"*.deb"))
			if len(m) == 0 {
				t.Errorf("no %s*.deb kept in %s", pkg, r.Debs)
			}
		}
	}
}
