package pkgrepo

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrOffline is returned when something is not in the cache and --offline
// forbids the network.
var ErrOffline = errors.New("not in the cache, and --offline forbids the network")

// ErrNotFound is a 404 (or 410): the repository has no such file.
var ErrNotFound = errors.New("not found")

// digest is what a downloaded file must match; an empty algo means the
// file is not known in advance (metadata roots: InRelease, repomd.xml).
type digest struct {
	algo string // sha256, sha512, sha1
	hex  string
	size int64 // -1 when unknown
}

func (d digest) known() bool { return d.algo != "" && d.hex != "" }

func newHash(algo string) hash.Hash {
	switch algo {
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	case "sha512":
		return sha512.New()
	case "sha384":
		return sha512.New384()
	}
	return nil
}

// downloader fetches files over plain HTTP(S) into the cache: proxies from
// the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), a connect and a
// stall timeout, a few retries, and resumption of a partial download.
type downloader struct {
	client   *http.Client
	cache    string // host directory
	offline  bool
	stall    time.Duration
	retries  int
	progress func(what string, done, total int64)

	// dead remembers hosts that could not be reached at all in this run,
	// so that a helper without a route to them pays the timeout once,
	// not for every file of every repository.
	mu   sync.Mutex
	dead map[string]error
}

func newDownloader(opt Options) *downloader {
	d := &downloader{cache: opt.CacheDir, offline: opt.Offline, stall: opt.Timeout, retries: opt.Retries, progress: opt.Progress}
	if d.stall <= 0 {
		d.stall = 30 * time.Second
	}
	if d.retries <= 0 {
		d.retries = 3
	}
	d.client = opt.Client
	if d.client == nil {
		tr := &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: d.stall, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   d.stall,
			ResponseHeaderTimeout: d.stall,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   4,
		}
		d.client = &http.Client{Transport: tr}
	}
	return d
}

// cachePath maps a URL to a file under the cache: scheme/host/path, with
// every element cleaned so that no URL reaches outside the cache.
func (d *downloader) cachePath(u string) (string, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	if pu.Scheme != "http" && pu.Scheme != "https" {
		return "", fmt.Errorf("%s: only http and https are fetched", u)
	}
	host := strings.ReplaceAll(pu.Host, ":", "_")
	p := path.Clean("/" + pu.Path)
	if host == "" || host == "." || host == ".." || p == "/" {
		return "", fmt.Errorf("%s: no file to fetch", u)
	}
	return filepath.Join(d.cache, pu.Scheme, host, filepath.FromSlash(p)), nil
}

// fetch returns the cache path of u's content. A file with a known digest
// is taken from the cache when the cached copy matches, and checked after
// every download; a file of unknown content (a repository's root
// metadata) is downloaded each time unless offline, when the cached copy
// is used.
func (d *downloader) fetch(ctx context.Context, u string, want digest) (string, error) {
	dst, err := d.cachePath(u)
	if err != nil {
		return "", err
	}
	if want.known() {
		if checkFile(dst, want) == nil {
			return dst, nil
		}
	}
	if d.offline {
		if !want.known() {
			if _, err := os.Stat(dst); err == nil {
				return dst, nil
			}
		}
		return "", fmt.Errorf("%s: %w", u, ErrOffline)
	}
	host := hostOf(u)
	d.mu.Lock()
	dead := d.dead[host]
	d.mu.Unlock()
	if dead != nil {
		return "", fmt.Errorf("%s: %s could not be reached earlier in this run: %w", u, host, dead)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("creating the cache: %w", err)
	}
	part := dst + ".part"
	if !want.known() {
		os.Remove(part) // nothing to resume against
	}
	var last error
	for attempt := 0; attempt < d.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		last = d.get(ctx, u, part, want)
		if last == nil {
			break
		}
		if errors.Is(last, ErrNotFound) || errors.Is(last, errDigest) || ctx.Err() != nil {
			break
		}
		if errors.Is(last, errUnreachable) && attempt >= 1 {
			break // asked twice, no answer: the host is down or unroutable
		}
	}
	if last != nil {
		if errors.Is(last, errDigest) {
			os.Remove(part)
		}
		if errors.Is(last, errUnreachable) {
			d.mu.Lock()
			if d.dead == nil {
				d.dead = map[string]error{}
			}
			d.dead[host] = last
			d.mu.Unlock()
		}
		return "", last
	}
	if want.known() {
		if err := checkFile(part, want); err != nil {
			os.Remove(part)
			return "", fmt.Errorf("%s: %w", u, err)
		}
	}
	if err := os.Rename(part, dst); err != nil {
		return "", err
	}
	return dst, nil
}

var errDigest = errors.New("digest mismatch")

// errUnreachable marks a host that did not answer at all.
var errUnreachable = errors.New("unreachable")

func hostOf(u string) string {
	if pu, err := url.Parse(u); err == nil {
		return pu.Host
	}
	return u
}

// get downloads u into part, resuming from what part holds.
func (d *downloader) get(ctx context.Context, u, part string, want digest) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var have int64
	if fi, err := os.Stat(part); err == nil {
		have = fi.Size()
	}
	if want.size >= 0 && want.known() && have > want.size {
		os.Remove(part)
		have = 0
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "rescue")
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	// The whole exchange, headers included, must make progress.
	var stalled atomic.Bool
	timer := time.AfterFunc(d.stall, func() { stalled.Store(true); cancel() })
	defer timer.Stop()
	resp, err := d.client.Do(req)
	if err != nil {
		var ne net.Error
		var op *net.OpError
		if stalled.Load() || (errors.As(err, &ne) && ne.Timeout()) {
			return fmt.Errorf("%s: no answer within %v: %w", u, d.stall, errUnreachable)
		}
		if errors.As(err, &op) && op.Op == "dial" {
			return fmt.Errorf("%s: %w: %w", u, errUnreachable, err)
		}
		return fmt.Errorf("%s: %w", u, err)
	}
	defer resp.Body.Close()
	flags := os.O_WRONLY | os.O_CREATE
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		flags |= os.O_APPEND
	case resp.StatusCode == http.StatusOK:
		flags |= os.O_TRUNC
		have = 0
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		os.Remove(part)
		return fmt.Errorf("%s: the server refused to resume (%s)", u, resp.Status)
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return fmt.Errorf("%s: %w (%s)", u, ErrNotFound, resp.Status)
	default:
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	total := int64(-1)
	if resp.ContentLength >= 0 {
		total = have + resp.ContentLength
	}
	buf := make([]byte, 64<<10)
	done := have
	for {
		timer.Reset(d.stall)
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return fmt.Errorf("writing %s: %w", part, err)
			}
			done += int64(n)
			if want.known() && want.size >= 0 && done > want.size {
				return fmt.Errorf("%s: more than the %d bytes the repository metadata records: %w", u, want.size, errDigest)
			}
			if d.progress != nil {
				d.progress(path.Base(u), done, total)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if stalled.Load() {
				return fmt.Errorf("%s: stalled for %v after %d bytes", u, d.stall, done)
			}
			return fmt.Errorf("%s: after %d bytes: %w", u, done, rerr)
		}
	}
	if total >= 0 && done != total {
		return fmt.Errorf("%s: truncated: %d of %d bytes", u, done, total)
	}
	return f.Sync()
}

// checkFile compares a file with a digest and size.
func checkFile(p string, want digest) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	h := newHash(want.algo)
	if h == nil {
		return fmt.Errorf("unknown digest algorithm %q", want.algo)
	}
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if want.size >= 0 && n != want.size {
		return fmt.Errorf("%d bytes, the repository metadata records %d: %w", n, want.size, errDigest)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(want.hex) {
		return fmt.Errorf("%s %s, the repository metadata records %s: %w", want.algo, got, want.hex, errDigest)
	}
	return nil
}
