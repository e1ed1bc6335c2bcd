package images

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"rescue/parse/aptsources"
)

// DebianMirror builds (once, cached) a local apt archive that serves the
// packages of a Debian root the way its own repositories do: the real,
// Debian-signed InRelease and Packages files of every suite the root's
// sources.list names (taken with apt-get, from the Debian registry this
// machine reaches, into a private apt state), and the root's .debs at the
// pool paths those Packages files give them. Served over HTTP, it is a
// mirror the root's own keys verify: rescue's whole trust chain runs on
// real data. It returns the archive root directory (holding dists/ and
// pool/).
func DebianMirror(ctx context.Context, sourcesList []byte, debsDir, cacheDir string) (string, error) {
	if cacheDir == "" {
		cacheDir = DefaultCacheDir
	}
	srcs, _ := aptsources.ParseList(sourcesList)
	if len(srcs) == 0 {
		return "", fmt.Errorf("the sources.list names no repository")
	}
	debs, err := filepath.Glob(filepath.Join(debsDir, "*.deb"))
	if err != nil || len(debs) == 0 {
		return "", fmt.Errorf("no .deb in %s", debsDir)
	}
	h := sha256.New()
	fmt.Fprintf(h, "v1\n%s\n", sourcesList)
	for _, d := range debs {
		fmt.Fprintln(h, filepath.Base(d))
	}
	name := "apt-mirror-" + hex.EncodeToString(h.Sum(nil))[:16]
	dir := filepath.Join(cacheDir, name)
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := flock(ctx, lock); err != nil {
		return "", err
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	if isDir(filepath.Join(dir, "dists")) {
		return dir, nil
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	state := filepath.Join(tmp, ".apt")
	for _, d := range []string{"lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(state, d), 0o755); err != nil {
			return "", err
		}
	}
	list := filepath.Join(state, "sources.list")
	if err := os.WriteFile(list, sourcesList, 0o644); err != nil {
		return "", err
	}
	opts := []string{
		"-o", "Dir::Etc::SourceList=" + list, "-o", "Dir::Etc::SourceParts=/nonexistent",
		"-o", "Dir::State::Lists=" + filepath.Join(state, "lists"), "-o", "Dir::Cache=" + filepath.Join(state, "cache"),
		"-o", "Dir::State::status=/dev/null", "-o", "APT::Architecture=amd64",
		// Keep the index files as the archive serves them
		// (uncompressed, hence listed in Release), and nothing else.
		"-o", "Acquire::GzipIndexes=false", "-o", "Acquire::Languages=none",
		"-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::CNF::DefaultEnabled=false",
		"-o", "Acquire::Check-Valid-Until=false",
	}
	cmd := exec.CommandContext(ctx, "apt-get", append(opts, "update")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get update: %w\n%s", err, tail(string(out), 2000))
	}
	// Every deb by its sha256, to find it in the Packages files.
	bySum := map[string]string{}
	for _, d := range debs {
		sum, err := fileSHA256(d)
		if err != nil {
			return "", err
		}
		bySum[sum] = d
	}
	for _, s := range srcs {
		if !contains(s.Types, "deb") {
			continue
		}
		for _, u := range s.URIs {
			for _, suite := range s.Suites {
				prefix := filepath.Join(state, "lists", aptListName(u)+"_dists_"+suite)
				dists := filepath.Join(tmp, "dists", suite)
				if err := os.MkdirAll(dists, 0o755); err != nil {
					return "", err
				}
				if err := linkOrCopy(prefix+"_InRelease", filepath.Join(dists, "InRelease")); err != nil {
					return "", fmt.Errorf("apt-get fetched no InRelease for %s %s: %w", u, suite, err)
				}
				for _, comp := range s.Components {
					pk := prefix + "_" + comp + "_binary-amd64_Packages"
					dst := filepath.Join(dists, comp, "binary-amd64", "Packages")
					if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
						return "", err
					}
					if err := linkOrCopy(pk, dst); err != nil {
						return "", err
					}
					if err := placeDebs(pk, bySum, tmp); err != nil {
						return "", err
					}
				}
			}
		}
	}
	os.RemoveAll(state)
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// aptListName is how apt names a URI's files in its lists directory.
func aptListName(uri string) string {
	u := uri
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	return strings.ReplaceAll(strings.TrimSuffix(u, "/"), "/", "_")
}

// placeDebs links every .deb a Packages file lists (by sha256) to its
// Filename under dir.
func placeDebs(packages string, bySum map[string]string, dir string) error {
	f, err := os.Open(packages)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var filename, sum string
	flush := func() error {
		if d, ok := bySum[sum]; ok && filename != "" {
			dst := filepath.Join(dir, filepath.FromSlash(filename))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := linkOrCopy(d, dst); err != nil {
				return err
			}
		}
		filename, sum = "", ""
		return nil
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if err := flush(); err != nil {
				return err
			}
		case strings.HasPrefix(line, "Filename: "):
			filename = strings.TrimPrefix(line, "Filename: ")
		case strings.HasPrefix(line, "SHA256: "):
			sum = strings.TrimPrefix(line, "SHA256: ")
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return sc.Err()
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// linkOrCopy hard-links src to dst, copying across filesystems.
func linkOrCopy(src, dst string) error {
	os.Remove(dst)
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
