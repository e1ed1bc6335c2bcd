// Package authkeys parses OpenSSH authorized_keys files (sshd(8),
// "AUTHORIZED_KEYS FILE FORMAT") and public key files (id_ed25519.pub):
// one key a line, "[options] keytype base64-blob [comment]", blank lines
// and lines starting with '#' ignored. A key is checked the way sshd reads
// it: the blob must be base64 whose first field (an SSH wire string) names
// the same key type, so that a truncated or mistyped paste is caught here
// rather than by a login that fails later.
package authkeys

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Key is one line of the file.
type Key struct {
	Line int // 1-based
	Raw  string
	// Options is the options field as written ("" when none).
	Options string
	Type    string
	// Blob is the base64 text of the key; Comment is what follows it.
	Blob    string
	Comment string
	// Err says why a line that is not blank or a comment is not a key
	// sshd would accept.
	Err error
}

// Same reports whether two keys are the same public key (type and blob),
// whatever their options and comments.
func (k Key) Same(o Key) bool { return k.Type == o.Type && k.Blob == o.Blob }

// Types are the key types OpenSSH accepts in authorized_keys.
var Types = map[string]bool{
	"ssh-rsa": true, "ssh-dss": true, "ssh-ed25519": true,
	"ecdsa-sha2-nistp256": true, "ecdsa-sha2-nistp384": true, "ecdsa-sha2-nistp521": true,
	"sk-ecdsa-sha2-nistp256@openssh.com": true, "sk-ssh-ed25519@openssh.com": true,
	"ssh-rsa-cert-v01@openssh.com": true, "ssh-dss-cert-v01@openssh.com": true, "ssh-ed25519-cert-v01@openssh.com": true,
	"ecdsa-sha2-nistp256-cert-v01@openssh.com": true, "ecdsa-sha2-nistp384-cert-v01@openssh.com": true,
	"ecdsa-sha2-nistp521-cert-v01@openssh.com": true, "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com": true,
	"sk-ssh-ed25519-cert-v01@openssh.com": true,
}

// maxLine is sshd's limit on an authorized_keys line (SSH_MAX_PUBKEY_BYTES
// is 16 KiB; a line holding options too is allowed a little more).
const maxLine = 32 << 10

// Parse reads the content of an authorized_keys or .pub file. It never
// fails: lines that are not keys carry their error.
func Parse(data []byte) []Key {
	var keys []Key
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimRight(raw, "\r")
		s := strings.TrimLeft(line, " \t")
		if s == "" || s[0] == '#' {
			continue
		}
		k := Key{Line: i + 1, Raw: line}
		if len(line) > maxLine {
			k.Err = fmt.Errorf("line is %d bytes long, more than sshd reads", len(line))
			keys = append(keys, k)
			continue
		}
		parseKey(&k, s)
		keys = append(keys, k)
	}
	return keys
}

func parseKey(k *Key, s string) {
	first, rest := cutField(s)
	if !Types[first] {
		// Not a key type: the first field is options, which may hold
		// quoted blanks.
		opts, after, err := cutOptions(s)
		if err != nil {
			k.Err = err
			return
		}
		k.Options = opts
		first, rest = cutField(strings.TrimLeft(after, " \t"))
		if !Types[first] {
			if first == "" {
				k.Err = errors.New("no key after the options")
			} else {
				k.Err = fmt.Errorf("unknown key type %q", first)
			}
			return
		}
	}
	k.Type = first
	blob, comment := cutField(strings.TrimLeft(rest, " \t"))
	k.Blob, k.Comment = blob, strings.TrimSpace(comment)
	if blob == "" {
		k.Err = errors.New("no key data after the key type")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(blob)
	if err != nil {
		k.Err = fmt.Errorf("key data is not base64: %v", err)
		return
	}
	name, ok := wireString(raw)
	if !ok || name != k.Type {
		k.Err = fmt.Errorf("key data is not a %s key (truncated or mistyped)", k.Type)
	}
}

// wireString reads the first SSH wire-format string (uint32 length and
// bytes) of b.
func wireString(b []byte) (string, bool) {
	if len(b) < 4 {
		return "", false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return "", false
	}
	return string(b[4 : 4+n]), true
}

func cutField(s string) (string, string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// cutOptions splits off the options field: it ends at the first blank
// outside double quotes, and a backslash escapes a quote inside them.
func cutOptions(s string) (string, string, error) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted && i+1 < len(s) && s[i+1] == '"':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ' ' || c == '\t'):
			return s[:i], s[i:], nil
		}
	}
	if quoted {
		return "", "", errors.New("unbalanced quotes in the options")
	}
	return s, "", nil
}

// IsPrivateKey reports whether data looks like a private key (PEM or
// OpenSSH format): handing one to a tool that writes authorized_keys is a
// mistake worth a clear error.
func IsPrivateKey(data []byte) bool {
	return bytes.Contains(data, []byte("PRIVATE KEY-----"))
}
