package pkgrepo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"rescue/sysroot"
)

// keyring is a set of OpenPGP public keys read from the target, with the
// files they came from.
type keyring struct {
	list  openpgp.EntityList
	files []string
	from  map[*openpgp.Entity]string // the file each key came from
}

func newKeyring(list openpgp.EntityList, file string) *keyring {
	k := &keyring{}
	k.add(list, file)
	return k
}

func (k *keyring) add(list openpgp.EntityList, file string) {
	if k.from == nil {
		k.from = map[*openpgp.Entity]string{}
	}
	for _, e := range list {
		k.from[e] = file
	}
	k.list = append(k.list, list...)
	k.files = append(k.files, file)
}

func (k *keyring) empty() bool { return k == nil || len(k.list) == 0 }

func (k *keyring) String() string {
	if k.empty() {
		return "no keys"
	}
	return strings.Join(k.files, ", ")
}

// readKeys reads an OpenPGP key file: armored (.asc) or binary (.gpg).
// GnuPG's keybox format (.kbx) holds no plain OpenPGP packets and is
// reported as unreadable.
func readKeys(data []byte) (openpgp.EntityList, error) {
	if bytes.Contains(data[:min(len(data), 64)], []byte("-----BEGIN PGP")) {
		return openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	}
	if len(data) >= 8 && string(data[4:8]) == "KBXf" {
		return nil, errors.New("a GnuPG keybox, not an OpenPGP keyring")
	}
	return openpgp.ReadKeyRing(bytes.NewReader(data))
}

// loadKeyFiles reads the key files (target paths) that exist; a file that
// cannot be read is skipped.
func loadKeyFiles(root *sysroot.Root, files []string) *keyring {
	k := &keyring{}
	for _, f := range files {
		data, err := root.ReadFileLimit(f, 16<<20)
		if err != nil {
			continue
		}
		list, err := readKeys(data)
		if err != nil || len(list) == 0 {
			continue
		}
		k.add(list, "target:"+f)
	}
	return k
}

// keyDir lists the key files of a directory (by suffix), sorted.
func keyDir(root *sysroot.Root, dir string, suffixes ...string) []string {
	entries, err := root.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		for _, s := range suffixes {
			if strings.HasSuffix(e.Name(), s) {
				out = append(out, path.Join(dir, e.Name()))
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// verifyConfig checks signatures as of now, with the library's defaults
// for algorithms: an expired or revoked key does not verify.
func verifyConfig() *packet.Config { return &packet.Config{} }

// signer describes the key that made a signature, and where the target
// keeps it.
func (k *keyring) signer(e *openpgp.Entity) string {
	if e == nil || e.PrimaryKey == nil {
		return "an unknown key"
	}
	s := fmt.Sprintf("key %X", e.PrimaryKey.Fingerprint)
	for name := range e.Identities {
		s += " (" + name + ")"
		break
	}
	if f := k.from[e]; f != "" {
		s += " from " + f
	}
	return s
}

// verifyClearsigned checks an InRelease file and returns its signed text.
func verifyClearsigned(data []byte, keys *keyring) ([]byte, string, error) {
	b, _ := clearsign.Decode(data)
	if b == nil {
		return nil, "", errors.New("not a clearsigned file")
	}
	if keys.empty() {
		return b.Plaintext, "", errors.New("no key to check the signature with")
	}
	e, err := b.VerifySignature(keys.list, verifyConfig())
	if err != nil {
		return b.Plaintext, "", err
	}
	return b.Plaintext, keys.signer(e), nil
}

// verifyDetached checks a detached signature (armored or binary) of data.
func verifyDetached(data, sig []byte, keys *keyring) (string, error) {
	if keys.empty() {
		return "", errors.New("no key to check the signature with")
	}
	var r io.Reader = bytes.NewReader(sig)
	var e *openpgp.Entity
	var err error
	if bytes.Contains(sig[:min(len(sig), 64)], []byte("-----BEGIN PGP")) {
		e, err = openpgp.CheckArmoredDetachedSignature(keys.list, bytes.NewReader(data), r, verifyConfig())
	} else {
		e, err = openpgp.CheckDetachedSignature(keys.list, bytes.NewReader(data), r, verifyConfig())
	}
	if err != nil {
		return "", err
	}
	return keys.signer(e), nil
}
