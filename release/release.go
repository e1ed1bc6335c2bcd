// Package release builds what a helper installs rescue from: static
// binaries for linux/amd64 and linux/arm64 with the version stamped in,
// .deb and .rpm packages of each (the binary, the man pages, and bash, zsh
// and fish completions), and a SHA256SUMS file over all of them. The
// packages are made with nfpm as a library, in this process; nothing is
// downloaded. `make release` runs it through cmd/rescue-release.
package release

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// Options say what to build.
type Options struct {
	// Repo is the source tree (the module root).
	Repo string
	// Out receives the artifacts.
	Out string
	// Version is stamped into the binaries (main.version), e.g. the
	// output of git describe.
	Version string
	// Arches to build (default amd64 and arm64).
	Arches []string
	// Packages makes the .deb and .rpm packages too.
	Packages bool
	// MTime is the time every file in the packages carries (default:
	// SOURCE_DATE_EPOCH, else the Unix epoch), so that a rebuild of the
	// same tree gives the same packages.
	MTime time.Time
	// Go is the go command (default "go").
	Go string
	// Log receives progress lines (nil: none).
	Log func(format string, args ...any)
}

// Artifact is one file of a release.
type Artifact struct {
	Name   string // base name in Out
	Path   string
	Kind   string // binary, deb, rpm, checksums
	Arch   string // Go architecture
	SHA256 string
}

// Release is what Build made.
type Release struct {
	Version    string
	PkgVersion string // the version as the packages carry it
	Artifacts  []Artifact
}

// Find returns the artifact of a kind and architecture, or nil.
func (r *Release) Find(kind, arch string) *Artifact {
	for i := range r.Artifacts {
		if r.Artifacts[i].Kind == kind && r.Artifacts[i].Arch == arch {
			return &r.Artifacts[i]
		}
	}
	return nil
}

// Description is the packages' description.
const Description = `Find and repair what stops a Linux disk from booting or logging in
rescue examines a Linux system disk attached to a helper machine (or an
image, or a mounted directory), reports what stops it from booting or
letting anyone log in, shows the repair as a diff, applies it in stages
that can be undone, and undoes it on request. Cloud runbooks name the disk
by its cloud id (rescue scan disk:d-bp1...).`

// Build builds the release into o.Out.
func Build(ctx context.Context, o Options) (*Release, error) {
	if o.Go == "" {
		o.Go = "go"
	}
	if len(o.Arches) == 0 {
		o.Arches = []string{"amd64", "arm64"}
	}
	if o.Version == "" {
		return nil, fmt.Errorf("release: no version")
	}
	if o.MTime.IsZero() {
		o.MTime = sourceDate()
	}
	logf := func(format string, args ...any) {
		if o.Log != nil {
			o.Log(format, args...)
		}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	rel := &Release{Version: o.Version}
	pv, pre, meta := PackageVersion(o.Version)
	rel.PkgVersion = pv
	if pre != "" {
		rel.PkgVersion += "~" + pre
	}
	if meta != "" {
		rel.PkgVersion += "+" + meta
	}
	bins := map[string]string{}
	for _, arch := range o.Arches {
		name := fmt.Sprintf("rescue_%s_linux_%s", fileVersion(o.Version), arch)
		path := filepath.Join(o.Out, name)
		t0 := time.Now()
		cmd := exec.CommandContext(ctx, o.Go, "build", "-trimpath", "-buildvcs=false",
			"-ldflags", "-s -w -buildid= -X main.version="+o.Version, "-o", path, "./cmd/rescue")
		cmd.Dir = o.Repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building linux/%s: %w\n%s", arch, err, out)
		}
		logf("built %s in %s", name, time.Since(t0).Round(time.Millisecond))
		bins[arch] = path
		rel.Artifacts = append(rel.Artifacts, Artifact{Name: name, Path: path, Kind: "binary", Arch: arch})
	}
	if o.Packages {
		extra, err := packageFiles(ctx, o, bins)
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(extra.dir)
		for _, arch := range o.Arches {
			for _, format := range []string{"deb", "rpm"} {
				a, err := makePackage(o, format, arch, bins[arch], extra)
				if err != nil {
					return nil, err
				}
				logf("packaged %s", a.Name)
				rel.Artifacts = append(rel.Artifacts, *a)
			}
		}
	}
	var sums strings.Builder
	for i := range rel.Artifacts {
		a := &rel.Artifacts[i]
		h, err := fileSHA256(a.Path)
		if err != nil {
			return nil, err
		}
		a.SHA256 = h
		fmt.Fprintf(&sums, "%s  %s\n", h, a.Name)
	}
	sumsPath := filepath.Join(o.Out, "SHA256SUMS")
	if err := os.WriteFile(sumsPath, []byte(sums.String()), 0o644); err != nil {
		return nil, err
	}
	rel.Artifacts = append(rel.Artifacts, Artifact{Name: "SHA256SUMS", Path: sumsPath, Kind: "checksums"})
	return rel, nil
}

// PackageVersion turns a version as git describe prints it into what the
// packages carry: v1.2.3 is 1.2.3; a build after a tag, v1.2.3-4-gabcdef,
// is 1.2.3 with build metadata 4.gabcdef (1.2.3+4.gabcdef, which dpkg and
// rpm order after 1.2.3); a version without a number (a bare commit hash,
// "dev") is 0.0.0 with the text as a pre-release (0.0.0~abcdef, ordered
// below every real version).
func PackageVersion(v string) (version, prerelease, metadata string) {
	v = strings.TrimPrefix(v, "v")
	clean := func(s string) string {
		return strings.Trim(regexp.MustCompile(`[^A-Za-z0-9.]+`).ReplaceAllString(s, "."), ".")
	}
	if m := regexp.MustCompile(`^([0-9]+\.[0-9]+\.[0-9]+)(?:[-+](.*))?$`).FindStringSubmatch(v); m != nil {
		return m[1], "", clean(m[2])
	}
	return "0.0.0", clean(v), ""
}

// fileVersion is the version as it appears in file names.
func fileVersion(v string) string {
	return regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(v, "_")
}

func sourceDate() time.Time {
	var secs int64
	if _, err := fmt.Sscan(os.Getenv("SOURCE_DATE_EPOCH"), &secs); err == nil {
		return time.Unix(secs, 0).UTC()
	}
	return time.Unix(0, 0).UTC()
}

// extraFiles are the files every package carries besides the binary.
type extraFiles struct {
	dir         string
	manPages    []string // gzipped, in dir
	bash, zsh   string
	fish        string
	readme      string
	schemaFiles []string
}

// packageFiles prepares the man pages (docs/man, compressed) and the
// shell completions (printed by a binary of this machine's architecture).
func packageFiles(ctx context.Context, o Options, bins map[string]string) (*extraFiles, error) {
	dir, err := os.MkdirTemp("", "rescue-release-")
	if err != nil {
		return nil, err
	}
	e := &extraFiles{dir: dir}
	pages, err := filepath.Glob(filepath.Join(o.Repo, "docs", "man", "*.1"))
	if err != nil || len(pages) == 0 {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("no man pages in docs/man (make docs writes them): %v", err)
	}
	sort.Strings(pages)
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.ModTime = o.MTime
		zw.Write(data)
		zw.Close()
		gz := filepath.Join(dir, filepath.Base(p)+".gz")
		if err := os.WriteFile(gz, b.Bytes(), 0o644); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		e.manPages = append(e.manPages, gz)
	}
	host := bins[runtime.GOARCH]
	if host == "" {
		// Completions are the same on every architecture; build one
		// that runs here.
		host = filepath.Join(dir, "rescue-host")
		cmd := exec.CommandContext(ctx, o.Go, "build", "-o", host, "./cmd/rescue")
		cmd.Dir = o.Repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("building rescue for the completions: %w\n%s", err, out)
		}
	}
	for shell, dst := range map[string]*string{"bash": &e.bash, "zsh": &e.zsh, "fish": &e.fish} {
		out, err := exec.CommandContext(ctx, host, "completion", shell).Output()
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("rescue completion %s: %w", shell, err)
		}
		*dst = filepath.Join(dir, "completion."+shell)
		if err := os.WriteFile(*dst, out, 0o644); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	e.readme = filepath.Join(o.Repo, "README.md")
	e.schemaFiles, _ = filepath.Glob(filepath.Join(o.Repo, "docs", "schema", "*.json"))
	sort.Strings(e.schemaFiles)
	return e, nil
}

// makePackage writes one .deb or .rpm.
func makePackage(o Options, format, arch, bin string, e *extraFiles) (*Artifact, error) {
	version, pre, meta := PackageVersion(o.Version)
	file := func(src, dst string, mode os.FileMode) *files.Content {
		return &files.Content{Source: src, Destination: dst, FileInfo: &files.ContentFileInfo{Mode: mode, Owner: "root", Group: "root", MTime: o.MTime}}
	}
	contents := files.Contents{
		file(bin, "/usr/bin/rescue", 0o755),
		file(e.bash, "/usr/share/bash-completion/completions/rescue", 0o644),
		file(e.fish, "/usr/share/fish/vendor_completions.d/rescue.fish", 0o644),
		file(e.readme, "/usr/share/doc/rescue/README.md", 0o644),
	}
	// zsh looks in vendor-completions on Debian and site-functions on the
	// rpm distributions.
	zshDir := "/usr/share/zsh/vendor-completions/_rescue"
	if format == "rpm" {
		zshDir = "/usr/share/zsh/site-functions/_rescue"
	}
	contents = append(contents, file(e.zsh, zshDir, 0o644))
	for _, p := range e.manPages {
		contents = append(contents, file(p, "/usr/share/man/man1/"+filepath.Base(p), 0o644))
	}
	for _, p := range e.schemaFiles {
		contents = append(contents, file(p, "/usr/share/doc/rescue/schema/"+filepath.Base(p), 0o644))
	}
	info := &nfpm.Info{
		Name: "rescue", Arch: arch, Platform: "linux",
		Version: version, Prerelease: pre, VersionMetadata: meta, VersionSchema: "none", Release: "1",
		Section: "admin", Priority: "optional",
		Maintainer:  "rescue maintainers <rescue@invalid>",
		Description: Description,
		Homepage:    "https://rescue.invalid/",
		License:     "unspecified",
		MTime:       o.MTime,
		Overridables: nfpm.Overridables{
			Contents: contents,
			Umask:    0o022,
		},
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", format, arch, err)
	}
	pkger, err := nfpm.Get(format)
	if err != nil {
		return nil, err
	}
	name := pkger.ConventionalFileName(info)
	path := filepath.Join(o.Out, name)
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pkger.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("packaging %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &Artifact{Name: name, Path: path, Kind: format, Arch: arch}, nil
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
