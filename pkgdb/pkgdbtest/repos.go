package pkgdbtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// NewKey makes an OpenPGP signing key for a test repository and returns
// it with its armored public half (what a target trusts).
func NewKey(t testing.TB, name string) (*openpgp.Entity, []byte) {
	t.Helper()
	e, err := openpgp.NewEntity(name, "rescue test", name+"@example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	w, err := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return e, pub.Bytes()
}

// CreateRepo copies the .rpm files into dir, indexes them with
// createrepo_c and, when key is set, signs repodata/repomd.xml with it
// (repomd.xml.asc, as dnf's repo_gpgcheck expects).
func CreateRepo(t testing.TB, dir string, key *openpgp.Entity, rpms ...string) {
	t.Helper()
	NeedTool(t, "createrepo_c", "createrepo-c")
	if err := os.MkdirAll(filepath.Join(dir, "Packages"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, r := range rpms {
		data, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "Packages", filepath.Base(r)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("createrepo_c", "--quiet", dir).CombinedOutput(); err != nil {
		t.Fatalf("createrepo_c: %v\n%s", err, out)
	}
	if key == nil {
		return
	}
	md := filepath.Join(dir, "repodata", "repomd.xml")
	data, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, key, bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(md+".asc", sig.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// SignRPM signs an .rpm's header with key, as a distribution's build
// system does, with rpmsign and a throw-away GnuPG home holding the key.
func SignRPM(t testing.TB, key *openpgp.Entity, rpm string) {
	t.Helper()
	NeedTool(t, "rpmsign", "rpm")
	NeedTool(t, "gpg", "gnupg")
	home := t.TempDir()
	var priv bytes.Buffer
	w, err := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := key.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	imp := exec.Command("gpg", "--homedir", home, "--batch", "--import")
	imp.Stdin = &priv
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}
	var name string
	for n := range key.Identities {
		name = n
	}
	gpg, _ := exec.LookPath("gpg")
	cmd := exec.Command("rpmsign", "--define", "__gpg "+gpg, "--define", "_gpg_path "+home, "--define", "_gpg_name "+name, "--addsign", rpm)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmsign: %v\n%s", err, out)
	}
	exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
}
