package access

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"rescue/sysroot"
)

// cryptAlphabet is crypt(3)'s base-64 alphabet.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// SHA512Crypt hashes password with salt the way glibc's and libxcrypt's
// crypt(3) do for "$6$" (Ulrich Drepper's SHA-crypt): every libc a target
// may have since glibc 2.7 verifies it. rounds 0 means the default 5000,
// written without a rounds= field. The salt is cut to 16 characters, as
// crypt does.
func SHA512Crypt(password, salt string, rounds int) string {
	custom := rounds != 0
	if !custom {
		rounds = 5000
	}
	rounds = min(max(rounds, 1000), 999999999)
	if len(salt) > 16 {
		salt = salt[:16]
	}
	key, s := []byte(password), []byte(salt)

	b := sha512.New()
	b.Write(key)
	b.Write(s)
	b.Write(key)
	bsum := b.Sum(nil)

	a := sha512.New()
	a.Write(key)
	a.Write(s)
	n := len(key)
	for ; n > 64; n -= 64 {
		a.Write(bsum)
	}
	a.Write(bsum[:n])
	for n = len(key); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(bsum)
		} else {
			a.Write(key)
		}
	}
	asum := a.Sum(nil)

	dp := sha512.New()
	for range len(key) {
		dp.Write(key)
	}
	p := repeatTo(dp.Sum(nil), len(key))

	ds := sha512.New()
	for range 16 + int(asum[0]) {
		ds.Write(s)
	}
	sp := repeatTo(ds.Sum(nil), len(s))

	c := asum
	for i := range rounds {
		h := sha512.New()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sp)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(nil)
	}

	var out strings.Builder
	out.WriteString("$6$")
	if custom {
		fmt.Fprintf(&out, "rounds=%d$", rounds)
	}
	out.WriteString(salt)
	out.WriteByte('$')
	enc := func(b2, b1, b0 byte, n int) {
		w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
		for range n {
			out.WriteByte(cryptAlphabet[w&0x3f])
			w >>= 6
		}
	}
	for i := range 21 {
		// The permutation of SHA-crypt's final encoding: groups of three
		// bytes taken i, i+21, i+42 in a rotating order.
		x, y, z := i, i+21, i+42
		switch i % 3 {
		case 1:
			x, y, z = i+21, i+42, i
		case 2:
			x, y, z = i+42, i, i+21
		}
		enc(c[x], c[y], c[z], 4)
	}
	enc(0, 0, c[63], 2)
	return out.String()
}

func repeatTo(sum []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, sum[:min(len(sum), n-len(out))]...)
	}
	return out
}

// NewSalt returns 16 random characters of the crypt alphabet.
func NewSalt() (string, error) {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("reading random bytes for a salt: %w", err)
	}
	for i, c := range raw {
		raw[i] = cryptAlphabet[int(c)%len(cryptAlphabet)]
	}
	return string(raw), nil
}

// hashRE is the shape of a modular crypt hash: $id$, then the alphabet
// crypt uses plus the '=' and ',' of parameter fields.
var hashRE = regexp.MustCompile(`^\$([0-9a-z]+)\$[./0-9A-Za-z$=,]+$`)

// Methods are the crypt methods reset-access accepts, with what the target's
// libcrypt must know for each.
var methods = map[string]string{
	"1":  "MD5 (weak)",
	"5":  "SHA-256",
	"6":  "SHA-512",
	"y":  "yescrypt",
	"gy": "gost-yescrypt",
	"7":  "scrypt",
	"2b": "bcrypt",
	"2y": "bcrypt",
	"2a": "bcrypt",
}

// alwaysSupported are the methods every glibc since 2.7 (EL5, Debian 5)
// verifies; the others need libxcrypt.
var alwaysSupported = map[string]bool{"1": true, "5": true, "6": true}

// CheckHash validates a hash given on the command line: it must be a
// modular crypt hash of a known method, and hold nothing that could break
// the shadow file (':' or a newline) or lock the account ('!', '*').
func CheckHash(h string) (method string, err error) {
	switch {
	case h == "":
		return "", errors.New("the password hash is empty")
	case strings.HasPrefix(h, "!") || strings.HasPrefix(h, "*"):
		return "", fmt.Errorf("%q is a locked or disabled password field, not a hash: give a crypt hash such as the output of openssl passwd -6", h)
	}
	m := hashRE.FindStringSubmatch(h)
	if m == nil {
		return "", fmt.Errorf("%q is not a crypt hash ($6$salt$hash): make one with openssl passwd -6, or use --password-stdin", abbrev(h))
	}
	if _, ok := methods[m[1]]; !ok {
		return "", fmt.Errorf("$%s$ is not a crypt method rescue knows (use $6$: openssl passwd -6)", m[1])
	}
	if m[1] == "6" || m[1] == "5" {
		if err := checkSHACrypt(h); err != nil {
			return "", err
		}
	}
	return m[1], nil
}

// checkSHACrypt checks the fields of a $5$ or $6$ hash: optional rounds,
// a salt of at most 16 characters, and a digest of the right length.
func checkSHACrypt(h string) error {
	parts := strings.Split(h[3:], "$")
	want := 86
	if h[1] == '5' {
		want = 43
	}
	if len(parts) == 3 {
		r, ok := strings.CutPrefix(parts[0], "rounds=")
		if n, err := strconv.Atoi(r); !ok || err != nil || n < 1000 || n > 999999999 {
			return fmt.Errorf("%q has a bad rounds= field", abbrev(h))
		}
		parts = parts[1:]
	}
	if len(parts) != 2 || len(parts[0]) > 16 || len(parts[1]) != want {
		return fmt.Errorf("%q is not a complete $%c$ hash (salt of at most 16 characters, then %d characters of digest)", abbrev(h), h[1], want)
	}
	return nil
}

func abbrev(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// libcryptGlobs are where a target's libcrypt can be.
var libcryptGlobs = []string{
	"/lib64/libcrypt.so.*", "/usr/lib64/libcrypt.so.*",
	"/lib/*-linux-gnu*/libcrypt.so.*", "/usr/lib/*-linux-gnu*/libcrypt.so.*",
	"/lib/libcrypt.so.*", "/usr/lib/libcrypt.so.*",
}

// CheckMethod refuses a hash method the target's libcrypt cannot verify:
// a yescrypt hash on CentOS 7 (glibc's own crypt knows only $1$, $5$ and
// $6$) would be a password that never matches. libxcrypt, which knows
// the others, names each method's prefix in its table of hashes; the
// library is read, never run.
func CheckMethod(root *sysroot.Root, method string) error {
	if alwaysSupported[method] {
		return nil
	}
	var libs []string
	for _, g := range libcryptGlobs {
		m, _ := root.Glob(g)
		libs = append(libs, m...)
	}
	prefix := []byte("$" + method + "$")
	for _, l := range libs {
		fi, err := root.Stat(l)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > 16<<20 {
			continue
		}
		data, err := root.ReadFileLimit(l, 16<<20)
		if err == nil && bytes.Contains(data, prefix) {
			return nil
		}
	}
	if len(libs) == 0 {
		return fmt.Errorf("the target has no libcrypt in the usual places, so whether it knows $%s$ (%s) hashes cannot be told: give a $6$ hash (openssl passwd -6) or use --password-stdin", method, methods[method])
	}
	return fmt.Errorf("the target's libcrypt (%s) does not know $%s$ (%s) hashes, so the password would never match: give a $6$ hash (openssl passwd -6) or use --password-stdin", strings.Join(libs, ", "), method, methods[method])
}
