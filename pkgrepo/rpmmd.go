package pkgrepo

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"

	"rescue/pkgdb"
	"rescue/rpmdb"
)

// rpmRepo is one rpm-md repository (yum, dnf, zypper) the target
// configures, or a --mirror.
type rpmRepo struct {
	id         string
	baseurls   []string // expanded, each ending in "/"
	mirrorlist string
	metalink   string
	gpgkeys    []string // target paths of file:// keys
	gpgCheck   bool     // gpgcheck: packages must be signed
	repoGPG    bool     // repo_gpgcheck: repomd.xml must be signed
	where      string
}

func (m *rpmRepo) String() string {
	if len(m.baseurls) > 0 {
		return m.id + " (" + m.baseurls[0] + ")"
	}
	if m.mirrorlist != "" {
		return m.id + " (mirrorlist " + m.mirrorlist + ")"
	}
	return m.id + " (metalink " + m.metalink + ")"
}

// repomd is a verified repomd.xml: where primary.xml is and its digest.
type repomd struct {
	base    string // the repository URL it was read from
	primary string // href
	digest  digest
	checks  []string
	err     error
}

// primaryIndex holds the installed packages' entries of primary.xml.
type primaryIndex struct {
	entries map[string]rpmEntry // "name-evr.arch"
	check   string
	err     error
}

type rpmEntry struct {
	href, base string
	digest     digest
}

// bases lists the repository's base URLs: baseurl, else the mirrors a
// mirrorlist or metalink names.
func (r *Repos) bases(ctx context.Context, m *rpmRepo) ([]string, error) {
	if len(m.baseurls) > 0 {
		return m.baseurls, nil
	}
	list := m.mirrorlist
	if list == "" {
		list = m.metalink
	}
	if list == "" {
		return nil, errors.New("no baseurl, mirrorlist or metalink")
	}
	p, err := r.dl.fetch(ctx, list, digest{})
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var out []string
	if m.metalink != "" && m.mirrorlist == "" {
		out = parseMetalink(data)
	} else {
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "http://") || strings.HasPrefix(line, "https://") {
				out = append(out, strings.TrimSuffix(line, "/")+"/")
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s names no mirror", list)
	}
	if len(out) > 5 {
		out = out[:5] // a few mirrors are enough to try
	}
	return out, nil
}

// parseMetalink reads the http(s) URLs of a metalink document, as
// repository bases (without repodata/repomd.xml).
func parseMetalink(data []byte) []string {
	var out []string
	d := xml.NewDecoder(strings.NewReader(string(data)))
	for {
		tok, err := d.Token()
		if err != nil {
			return out
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "url" {
			continue
		}
		var u string
		if d.DecodeElement(&u, &se) != nil {
			continue
		}
		u = strings.TrimSpace(u)
		if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
			out = append(out, strings.TrimSuffix(u, "repodata/repomd.xml"))
		}
	}
}

// repoMD fetches repomd.xml from the first base that answers, checks its
// signature where there is one, and finds primary.xml in it.
func (r *Repos) repoMD(ctx context.Context, m *rpmRepo) *repomd {
	r.mu.Lock()
	if md, ok := r.repomds[m]; ok {
		r.mu.Unlock()
		return md
	}
	r.mu.Unlock()
	md := &repomd{}
	bases, err := r.bases(ctx, m)
	if err != nil {
		md.err = err
	}
	for _, b := range bases {
		md = r.readRepoMD(ctx, m, b)
		if md.err == nil {
			break
		}
	}
	r.mu.Lock()
	r.repomds[m] = md
	r.mu.Unlock()
	return md
}

func (r *Repos) readRepoMD(ctx context.Context, m *rpmRepo, base string) *repomd {
	md := &repomd{base: base}
	p, err := r.dl.fetch(ctx, base+"repodata/repomd.xml", digest{})
	if err != nil {
		md.err = err
		return md
	}
	data, err := os.ReadFile(p)
	if err != nil {
		md.err = err
		return md
	}
	keys := loadKeyFiles(r.root, m.gpgkeys)
	var who string
	var verr error
	if sp, err := r.dl.fetch(ctx, base+"repodata/repomd.xml.asc", digest{}); err == nil {
		sig, _ := os.ReadFile(sp)
		who, verr = verifyDetached(data, sig, keys)
	} else {
		verr = fmt.Errorf("no repomd.xml.asc (%v)", err)
	}
	switch {
	case verr == nil:
		md.checks = append(md.checks, fmt.Sprintf("repomd.xml of %s signed by %s", m.id, who))
	case m.repoGPG && !keys.empty():
		md.err = fmt.Errorf("%srepodata/repomd.xml: repo_gpgcheck is on and the signature does not verify with %s: %w", base, keys, verr)
		return md
	default:
		md.checks = append(md.checks, fmt.Sprintf("repomd.xml of %s: signature NOT checked (%v); the digests recorded by the package database gate every byte", m.id, verr))
	}
	md.primary, md.digest, err = parseRepoMD(data)
	if err != nil {
		md.err = fmt.Errorf("%srepodata/repomd.xml: %w", base, err)
	}
	return md
}

// parseRepoMD finds the primary metadata's location and digest.
func parseRepoMD(data []byte) (string, digest, error) {
	var doc struct {
		Data []struct {
			Type     string `xml:"type,attr"`
			Checksum struct {
				Type  string `xml:"type,attr"`
				Value string `xml:",chardata"`
			} `xml:"checksum"`
			Location struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
			Size string `xml:"size"`
		} `xml:"data"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return "", digest{}, err
	}
	for _, d := range doc.Data {
		if d.Type != "primary" {
			continue
		}
		algo := strings.ToLower(d.Checksum.Type)
		if algo == "sha" {
			algo = "sha1"
		}
		size, err := strconv.ParseInt(strings.TrimSpace(d.Size), 10, 64)
		if err != nil {
			size = -1
		}
		if d.Location.Href == "" || newHash(algo) == nil {
			return "", digest{}, fmt.Errorf("the primary entry has no location or a %q checksum", d.Checksum.Type)
		}
		return d.Location.Href, digest{algo: algo, hex: strings.ToLower(strings.TrimSpace(d.Checksum.Value)), size: size}, nil
	}
	return "", digest{}, errors.New("no primary metadata listed")
}

// primary fetches and checks primary.xml and keeps the installed
// packages' entries.
func (r *Repos) primary(ctx context.Context, md *repomd) *primaryIndex {
	key := md.base + md.primary
	r.mu.Lock()
	if pi, ok := r.primaries[key]; ok {
		r.mu.Unlock()
		return pi
	}
	r.mu.Unlock()
	pi := &primaryIndex{}
	p, err := r.dl.fetch(ctx, joinURL(md.base, md.primary), md.digest)
	if err != nil {
		pi.err = err
	} else {
		pi.entries, pi.err = readPrimary(p, path.Ext(md.primary), r.want)
		pi.check = fmt.Sprintf("%s %s %s matches repomd.xml", path.Base(md.primary), md.digest.algo, md.digest.hex)
	}
	r.mu.Lock()
	r.primaries[key] = pi
	r.mu.Unlock()
	return pi
}

// joinURL resolves href against a base URL.
func joinURL(base, href string) string {
	b, err := url.Parse(base)
	if err != nil {
		return base + href
	}
	h, err := url.Parse(href)
	if err != nil {
		return base + href
	}
	return b.ResolveReference(h).String()
}

// readPrimary streams primary.xml and keeps the wanted packages.
func readPrimary(p, ext string, want map[string]bool) (map[string]rpmEntry, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, done, err := decompress(bufio.NewReaderSize(f, 256<<10), ext)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	defer done()
	type pkgXML struct {
		Name    string `xml:"name"`
		Arch    string `xml:"arch"`
		Version struct {
			Epoch string `xml:"epoch,attr"`
			Ver   string `xml:"ver,attr"`
			Rel   string `xml:"rel,attr"`
		} `xml:"version"`
		Checksum struct {
			Type  string `xml:"type,attr"`
			Value string `xml:",chardata"`
		} `xml:"checksum"`
		Location struct {
			Href string `xml:"href,attr"`
			Base string `xml:"base,attr"`
		} `xml:"location"`
		Size struct {
			Package string `xml:"package,attr"`
		} `xml:"size"`
	}
	out := map[string]rpmEntry{}
	d := xml.NewDecoder(rd)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "package" {
			continue
		}
		var px pkgXML
		if err := d.DecodeElement(&px, &se); err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		if want != nil && !want[px.Name] {
			continue
		}
		evr := px.Version.Ver + "-" + px.Version.Rel
		if e := px.Version.Epoch; e != "" && e != "0" {
			evr = e + ":" + evr
		}
		algo := strings.ToLower(px.Checksum.Type)
		if algo == "sha" {
			algo = "sha1"
		}
		size, err := strconv.ParseInt(px.Size.Package, 10, 64)
		if err != nil {
			size = -1
		}
		out[px.Name+"-"+evr+"."+px.Arch] = rpmEntry{href: px.Location.Href, base: px.Location.Base,
			digest: digest{algo: algo, hex: strings.ToLower(strings.TrimSpace(px.Checksum.Value)), size: size}}
	}
}

// rpmKey is how primary.xml entries are keyed: the epoch only when not 0
// (the database's EVR has none for packages without one).
func rpmKey(pkg pkgdb.Package) string {
	v := strings.TrimPrefix(pkg.Version, "0:")
	return pkg.Name + "-" + v + "." + pkg.Arch
}

// fetchRPM finds the exact package in the rpm-md repositories.
func (r *Repos) fetchRPM(ctx context.Context, pkg pkgdb.Package, repos []*rpmRepo) (*pkgdb.Fetched, []error) {
	var tried []error
	key := rpmKey(pkg)
	for _, m := range repos {
		md := r.repoMD(ctx, m)
		if md.err != nil {
			tried = append(tried, fmt.Errorf("%s: %w", m, md.err))
			continue
		}
		pi := r.primary(ctx, md)
		if pi.err != nil {
			tried = append(tried, fmt.Errorf("%s: %w", m, pi.err))
			continue
		}
		e, ok := pi.entries[key]
		if !ok {
			tried = append(tried, fmt.Errorf("%s: no %s", m, key))
			continue
		}
		if newHash(e.digest.algo) == nil {
			tried = append(tried, fmt.Errorf("%s: %s has a %q checksum", m, key, e.digest.algo))
			continue
		}
		base := md.base
		if e.base != "" {
			base = strings.TrimSuffix(e.base, "/") + "/"
		}
		u := joinURL(base, e.href)
		checks := append(append([]string{}, md.checks...), pi.check)
		f := &pkgdb.Fetched{URL: u, Size: e.digest.size, Checks: checks}
		if r.opt.Mode != Download {
			f.Checks = append(f.Checks, fmt.Sprintf("to fetch: %s, to be checked against %s %s from primary.xml", u, e.digest.algo, e.digest.hex))
			return f, tried
		}
		p, err := r.dl.fetch(ctx, u, e.digest)
		if err != nil {
			tried = append(tried, err)
			if ctx.Err() != nil {
				return nil, tried
			}
			continue
		}
		f.Checks = append(f.Checks, fmt.Sprintf("%s %s %s matches primary.xml", pathBase(u), e.digest.algo, e.digest.hex))
		check, err := r.rpmSignature(p, m)
		if err != nil {
			tried = append(tried, fmt.Errorf("%s: %w", u, err))
			continue
		}
		f.Path = p
		f.Checks = append(f.Checks, check)
		return f, tried
	}
	return nil, tried
}

// rpmSignature checks an .rpm's header signature with the repository's
// keys, as rpm does when gpgcheck is on: a package that does not verify is
// refused then; otherwise the outcome is only reported.
func (r *Repos) rpmSignature(p string, m *rpmRepo) (string, error) {
	keys := loadKeyFiles(r.root, m.gpgkeys)
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	pf, err := rpmdb.ReadPackageFile(f, st.Size())
	if err != nil {
		return "", err
	}
	sigs := pf.HeaderSignatures()
	var verr error
	switch {
	case keys.empty():
		verr = errors.New("no key to check it with")
	case len(sigs) == 0:
		verr = errors.New("the package is not signed")
	default:
		blob, err := pf.HeaderBlob()
		if err != nil {
			return "", err
		}
		for _, sig := range sigs {
			var who string
			if who, verr = verifyDetached(blob, sig, keys); verr == nil {
				return fmt.Sprintf("%s header signed by %s", pathBase(p), who), nil
			}
		}
	}
	if m.gpgCheck && !keys.empty() {
		return "", fmt.Errorf("gpgcheck is on and the package signature does not verify with %s: %w", keys, verr)
	}
	return fmt.Sprintf("%s: package signature NOT checked (%v); the digests recorded by the package database gate every byte", pathBase(p), verr), nil
}
