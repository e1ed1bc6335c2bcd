// Package images builds real systems for tests and demos: Debian roots
// made by mmdebstrap, and (elsewhere in this package) disk images.
package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultCacheDir is where built roots are kept between test runs.
const DefaultCacheDir = "/var/cache/rescue-e2e"

// CacheDir is $E2E_CACHE (as make e2e names it), else DefaultCacheDir: the
// tests of make test that build roots share them with the boot proof, and
// a run with an empty E2E_CACHE measures what a fresh machine pays.
func CacheDir() string {
	if d := os.Getenv("E2E_CACHE"); d != "" {
		return d
	}
	return DefaultCacheDir
}

// DebianRootOptions describe a Debian root filesystem to build.
type DebianRootOptions struct {
	Suite   string // "bookworm"
	Variant string // mmdebstrap variant: "minbase" (default), "important", …
	// Usr is the /usr layout: the suite's default when empty (split on
	// Debian 11 as mmdebstrap installs it, merged on 12 and 13), else
	// UsrMerged or UsrSplit. It is left out of the cache key when empty,
	// so that roots built before it existed keep their names.
	Usr     UsrLayout `json:",omitempty"`
	Include []string  // extra packages
	Arch    string    // Debian architecture; "" means the helper's
	Mirror  string    // "" means mmdebstrap's default (deb.debian.org)
	// Hooks are extra mmdebstrap arguments, such as
	// "--customize-hook=…"; they are part of the cache key.
	Hooks []string
	// CacheDir holds the tarballs; CacheDir() when empty.
	CacheDir string
}

// cacheVersion changes the key of every cached root when the way roots
// are built changes.
const cacheVersion = 1

func (o DebianRootOptions) normalized() DebianRootOptions {
	if o.Variant == "" {
		o.Variant = "minbase"
	}
	if o.Suite == "" {
		o.Suite = "bookworm"
	}
	if rel, ok := LookupRelease(o.Suite); ok && o.Usr == rel.Usr {
		// The suite's own default needs no hook and no new key.
		o.Usr = ""
	}
	o.Include = slices.Clone(o.Include)
	slices.Sort(o.Include)
	o.Include = slices.Compact(o.Include)
	if o.CacheDir == "" {
		o.CacheDir = CacheDir()
	}
	return o
}

// Key is the hash that names the cached tarball of these options.
func (o DebianRootOptions) Key() string {
	n := o.normalized()
	n.CacheDir = ""
	b, _ := json.Marshal(struct {
		V int
		O DebianRootOptions
	}{cacheVersion, n})
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// DebianRoot returns a tarball of a Debian root built by mmdebstrap with
// these options, building it the first time (minbase takes about half a
// minute, a bootable system about three) and reusing it while the file
// exists. Every .deb that went into the root is kept beside the tarball, in
// DebsDir(tarball), for tests that restore files from packages
// (--packages); the tarball itself has an empty apt cache, as a real system
// after installation. Concurrent callers (parallel test binaries) wait for
// one build.
func DebianRoot(ctx context.Context, opt DebianRootOptions) (string, error) {
	o := opt.normalized()
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return "", fmt.Errorf("mmdebstrap is not installed (apt-get install mmdebstrap): %w", err)
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return "", err
	}
	key := o.Key()
	name := fmt.Sprintf("debian-%s-%s-%s", o.Suite, o.Variant, key)
	if o.Usr != "" {
		name = fmt.Sprintf("debian-%s-%s-%s-%s", o.Suite, o.Variant, o.Usr, key)
	}
	tarball := filepath.Join(o.CacheDir, name+".tar")
	debs := DebsDir(tarball)

	lock, err := os.OpenFile(filepath.Join(o.CacheDir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := flock(ctx, lock); err != nil {
		return "", err
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)

	if isRegular(tarball) && isDir(debs) {
		return tarball, nil
	}
	// mmdebstrap picks the output format from the name: keep ".tar".
	tmpTar := strings.TrimSuffix(tarball, ".tar") + ".tmp.tar"
	tmpDebs := debs + ".tmp"
	os.Remove(tmpTar)
	os.RemoveAll(tmpDebs)
	if err := os.MkdirAll(tmpDebs, 0o755); err != nil {
		return "", err
	}
	args := []string{"--variant=" + o.Variant, "--quiet",
		// Keep the essential packages' .debs, which mmdebstrap would
		// otherwise delete once unpacked, and copy every .deb out
		// before the apt cache is cleaned.
		"--skip=essential/unlink",
		"--customize-hook=sync-out /var/cache/apt/archives " + tmpDebs,
	}
	if o.Arch != "" {
		args = append(args, "--architectures="+o.Arch)
	}
	if len(o.Include) > 0 {
		args = append(args, "--include="+strings.Join(o.Include, ","))
	}
	usr, err := o.usrHooks()
	if err != nil {
		return "", err
	}
	args = append(args, usr...)
	args = append(args, o.Hooks...)
	args = append(args, o.Suite, tmpTar)
	if o.Mirror != "" {
		args = append(args, o.Mirror)
	}
	cmd := exec.CommandContext(ctx, "mmdebstrap", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		os.Remove(tmpTar)
		os.RemoveAll(tmpDebs)
		return "", fmt.Errorf("mmdebstrap %s: %w\n%s", strings.Join(args, " "), err, tail(out.String(), 2000))
	}
	// Partial downloads and apt's lock are not packages.
	os.RemoveAll(filepath.Join(tmpDebs, "partial"))
	os.Remove(filepath.Join(tmpDebs, "lock"))
	os.RemoveAll(debs)
	if err := os.Rename(tmpDebs, debs); err != nil {
		return "", err
	}
	if err := os.Rename(tmpTar, tarball); err != nil {
		return "", err
	}
	return tarball, nil
}

// DebsDir is the directory beside a DebianRoot tarball that holds every
// .deb installed in it.
func DebsDir(tarball string) string {
	return strings.TrimSuffix(tarball, ".tar") + ".debs"
}

// ExtractRoot unpacks a root tarball into dir (which must exist), keeping
// owners, modes, device nodes and extended attributes. It needs root.
func ExtractRoot(tarball, dir string) error {
	cmd := exec.Command("tar", "-C", dir, "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", tarball)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("extracting %s: %w\n%s", tarball, err, tail(string(out), 2000))
	}
	return nil
}

func flock(ctx context.Context, f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func isRegular(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
