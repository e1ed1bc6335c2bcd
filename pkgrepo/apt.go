package pkgrepo

import (
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"

	"rescue/parse/aptsources"
	"rescue/pkgdb"
)

// aptRepo is one archive and suite the target's sources name (or a
// --mirror with the target's suites).
type aptRepo struct {
	uri        string // the archive root, without a trailing slash
	suite      string
	components []string
	signedBy   []string // keyring files, or an inline key block
	trusted    bool     // [trusted=yes]: apt checks no signature
	where      string   // "/etc/apt/sources.list:3", "--mirror"
}

func (a *aptRepo) String() string {
	s := a.uri + " " + a.suite
	if len(a.components) > 0 {
		s += " " + strings.Join(a.components, " ")
	}
	return s
}

// dists is the URL of the suite's directory.
func (a *aptRepo) dists() string {
	if aptsources.Flat(a.suite) {
		return a.uri + "/" + strings.TrimSuffix(strings.TrimPrefix(a.suite, "./"), "/")
	}
	return a.uri + "/dists/" + a.suite
}

// release is a verified Release file: the digests of the suite's index
// files and what was checked to trust them.
type release struct {
	files  map[string]digest
	checks []string
	err    error
}

// index is one Packages file, reduced to the installed packages.
type index struct {
	entries map[string]aptEntry // "name version arch"
	err     error
}

type aptEntry struct {
	filename string
	digest   digest
}

// aptRelease fetches and checks a suite's InRelease (or Release with
// Release.gpg) against the target's keys.
func (r *Repos) aptRelease(ctx context.Context, a *aptRepo) *release {
	key := a.dists()
	r.mu.Lock()
	if rel, ok := r.releases[key]; ok {
		r.mu.Unlock()
		return rel
	}
	r.mu.Unlock()
	rel := r.fetchRelease(ctx, a)
	r.mu.Lock()
	r.releases[key] = rel
	r.mu.Unlock()
	return rel
}

func (r *Repos) fetchRelease(ctx context.Context, a *aptRepo) *release {
	rel := &release{}
	keys := r.aptKeys(a)
	var text []byte
	inrel, err := r.dl.fetch(ctx, a.dists()+"/InRelease", digest{})
	if err == nil {
		data, rerr := os.ReadFile(inrel)
		if rerr != nil {
			rel.err = rerr
			return rel
		}
		plain, who, verr := verifyClearsigned(data, keys)
		if plain == nil {
			rel.err = fmt.Errorf("%s/InRelease: %w", a.dists(), verr)
			return rel
		}
		text = plain
		rel.checks = append(rel.checks, r.sigCheck(a, "InRelease", who, keys, verr))
		if verr != nil && !a.trusted && !keys.empty() {
			rel.err = fmt.Errorf("%s/InRelease: the signature does not verify with %s: %w", a.dists(), keys, verr)
			return rel
		}
	} else if errors.Is(err, ErrNotFound) {
		// Older archives have Release and a detached Release.gpg.
		rp, err := r.dl.fetch(ctx, a.dists()+"/Release", digest{})
		if err != nil {
			rel.err = err
			return rel
		}
		if text, err = os.ReadFile(rp); err != nil {
			rel.err = err
			return rel
		}
		var who string
		var verr error
		if sp, err := r.dl.fetch(ctx, a.dists()+"/Release.gpg", digest{}); err == nil {
			sig, _ := os.ReadFile(sp)
			who, verr = verifyDetached(text, sig, keys)
		} else {
			verr = fmt.Errorf("no Release.gpg: %w", err)
		}
		rel.checks = append(rel.checks, r.sigCheck(a, "Release", who, keys, verr))
		if verr != nil && !a.trusted && !keys.empty() {
			rel.err = fmt.Errorf("%s/Release: the signature does not verify with %s: %w", a.dists(), keys, verr)
			return rel
		}
	} else {
		rel.err = err
		return rel
	}
	rel.files = parseRelease(text)
	if len(rel.files) == 0 {
		rel.err = fmt.Errorf("%s: the Release file lists no SHA256 digests", a.dists())
	}
	if until := releaseField(text, "Valid-Until"); until != "" {
		if t, err := time.Parse(time.RFC1123, strings.Replace(until, "UTC", "GMT", 1)); err == nil && t.Before(time.Now()) {
			// The file digests of the target's database still gate
			// every byte: an old Release cannot slip in other content.
			rel.checks = append(rel.checks, "note: the Release file was valid until "+until)
		}
	}
	return rel
}

// sigCheck words the outcome of a signature check for the plan.
func (r *Repos) sigCheck(a *aptRepo, file, who string, keys *keyring, err error) string {
	switch {
	case err == nil:
		return fmt.Sprintf("%s of %s signed by %s", file, a, who)
	case a.trusted:
		return fmt.Sprintf("%s of %s not signature-checked: the source is marked trusted=yes (%v)", file, a, err)
	default:
		return fmt.Sprintf("%s of %s: signature NOT checked (%v); the digests recorded by the package database gate every byte", file, a, err)
	}
}

// aptKeys are the keys apt would check a source with: its Signed-By
// keyrings (or inline key), else /etc/apt/trusted.gpg and trusted.gpg.d.
func (r *Repos) aptKeys(a *aptRepo) *keyring {
	if len(a.signedBy) == 1 && strings.Contains(a.signedBy[0], "BEGIN PGP PUBLIC KEY BLOCK") {
		list, err := readKeys([]byte(a.signedBy[0]))
		if err == nil {
			return newKeyring(list, a.where+" (inline Signed-By)")
		}
	}
	var files []string
	for _, s := range a.signedBy {
		if strings.HasPrefix(s, "/") {
			files = append(files, s)
		}
	}
	if len(files) == 0 {
		files = append([]string{"/etc/apt/trusted.gpg"}, keyDir(r.root, "/etc/apt/trusted.gpg.d", ".gpg", ".asc")...)
	}
	return loadKeyFiles(r.root, files)
}

// parseRelease reads the SHA256 section of a Release file.
func parseRelease(text []byte) map[string]digest {
	out := map[string]digest{}
	in := false
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			in = strings.HasPrefix(line, "SHA256:")
			continue
		}
		if !in {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size < 0 {
			continue
		}
		out[f[2]] = digest{algo: "sha256", hex: strings.ToLower(f[0]), size: size}
	}
	return out
}

func releaseField(text []byte, name string) string {
	for _, line := range strings.Split(string(text), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// indexSuffixes are the compressions tried for an index, best first.
var indexSuffixes = []string{".xz", ".gz", ".zst", ".bz2", ".lz4", ""}

// aptIndex fetches one Packages file the Release lists, checks its digest
// and keeps the entries of installed packages.
func (r *Repos) aptIndex(ctx context.Context, a *aptRepo, rel *release, comp, arch string) (*index, string) {
	base := "binary-" + arch + "/Packages"
	if comp != "" {
		base = comp + "/" + base
	}
	if aptsources.Flat(a.suite) {
		base = "Packages"
	}
	key := a.dists() + "/" + base
	r.mu.Lock()
	if idx, ok := r.indexes[key]; ok {
		check := r.indexChecks[key]
		r.mu.Unlock()
		return idx, check
	}
	r.mu.Unlock()
	idx := &index{}
	var check string
	idx.err = fmt.Errorf("%s: the Release file lists no %s", a.dists(), base)
	for _, suf := range indexSuffixes {
		want, ok := rel.files[base+suf]
		if !ok {
			continue
		}
		p, err := r.dl.fetch(ctx, a.dists()+"/"+base+suf, want)
		if errors.Is(err, ErrNotFound) {
			idx.err = err
			continue // the Release lists more than the mirror holds
		}
		if err != nil {
			idx.err = err
			break
		}
		idx.entries, idx.err = readPackages(p, suf, r.want)
		check = fmt.Sprintf("%s%s sha256 %s matches the Release file", base, suf, want.hex)
		break
	}
	r.mu.Lock()
	r.indexes[key] = idx
	r.indexChecks[key] = check
	r.mu.Unlock()
	return idx, check
}

// decompress opens a compressed index by its suffix.
func decompress(f io.Reader, suffix string) (io.Reader, func(), error) {
	switch suffix {
	case ".xz":
		z, err := xz.NewReader(f)
		return z, func() {}, err
	case ".gz":
		z, err := gzip.NewReader(f)
		if err != nil {
			return nil, nil, err
		}
		return z, func() { z.Close() }, nil
	case ".zst":
		z, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, err
		}
		return z, z.Close, nil
	case ".bz2":
		return bzip2.NewReader(f), func() {}, nil
	case ".lz4":
		return lz4.NewReader(f), func() {}, nil
	}
	return f, func() {}, nil
}

// readPackages streams a Packages file and keeps the entries of the
// wanted package names (all when want is nil).
func readPackages(p, suffix string, want map[string]bool) (map[string]aptEntry, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, done, err := decompress(bufio.NewReaderSize(f, 256<<10), suffix)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	defer done()
	out := map[string]aptEntry{}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var name, version, arch, filename, sha string
	size := int64(-1)
	flush := func() {
		if name != "" && filename != "" && sha != "" && (want == nil || want[name]) {
			out[name+" "+version+" "+arch] = aptEntry{filename: filename, digest: digest{algo: "sha256", hex: strings.ToLower(sha), size: size}}
		}
		name, version, arch, filename, sha, size = "", "", "", "", "", -1
	}
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			name = v
		case "Version":
			version = v
		case "Architecture":
			arch = v
		case "Filename":
			filename = v
		case "SHA256":
			sha = v
		case "Size":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				size = n
			}
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return out, nil
}

// fetchDeb finds the exact package in the apt repositories and downloads
// (or, resolving only, locates) it.
func (r *Repos) fetchDeb(ctx context.Context, pkg pkgdb.Package, repos []*aptRepo) (*pkgdb.Fetched, []error) {
	var tried []error
	archs := []string{r.arch}
	if pkg.Arch != "" && pkg.Arch != "all" && pkg.Arch != r.arch {
		archs = []string{pkg.Arch}
	}
	key := pkg.Name + " " + pkg.Version + " " + pkg.Arch
	for _, a := range repos {
		rel := r.aptRelease(ctx, a)
		if rel.err != nil {
			tried = append(tried, fmt.Errorf("%s: %w", a, rel.err))
			continue
		}
		comps := a.components
		if aptsources.Flat(a.suite) {
			comps = []string{""}
		}
		for _, comp := range comps {
			for _, arch := range archs {
				idx, check := r.aptIndex(ctx, a, rel, comp, arch)
				if idx.err != nil {
					tried = append(tried, fmt.Errorf("%s %s: %w", a, comp, idx.err))
					continue
				}
				e, ok := idx.entries[key]
				if !ok {
					tried = append(tried, fmt.Errorf("%s %s/binary-%s: no %s", a, comp, arch, pkg))
					continue
				}
				u := a.uri + "/" + strings.TrimPrefix(e.filename, "/")
				checks := append(append([]string{}, rel.checks...), check)
				f := &pkgdb.Fetched{URL: u, Size: e.digest.size, Checks: checks}
				if r.opt.Mode != Download {
					f.Checks = append(f.Checks, fmt.Sprintf("to fetch: %s, to be checked against sha256 %s and size %d from the Packages file", u, e.digest.hex, e.digest.size))
					return f, tried
				}
				p, err := r.dl.fetch(ctx, u, e.digest)
				if err != nil {
					tried = append(tried, err)
					if ctx.Err() != nil {
						return nil, tried
					}
					continue // another source may hold it
				}
				f.Path = p
				f.Checks = append(f.Checks, fmt.Sprintf("%s sha256 %s and size %d match the Packages file", pathBase(u), e.digest.hex, e.digest.size))
				return f, tried
			}
		}
	}
	return nil, tried
}

func pathBase(u string) string {
	if i := strings.LastIndexByte(u, '/'); i >= 0 {
		return u[i+1:]
	}
	return u
}
