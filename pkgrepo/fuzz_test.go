package pkgrepo

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzMetadata feeds the repository metadata readers (Release, repomd.xml,
// metalink, Packages, primary.xml) and the .repo variable expansion with
// arbitrary bytes: a hostile mirror gets an error, never a panic.
func FuzzMetadata(f *testing.F) {
	f.Add([]byte("SHA256:\n 0123 10 main/binary-amd64/Packages\nValid-Until: Sat, 01 Jan 2000 00:00:00 UTC\n"))
	f.Add([]byte(`<repomd><data type="primary"><checksum type="sha256">ab</checksum><location href="repodata/p.xml.gz"/><size>3</size></data></repomd>`))
	f.Add([]byte(`<metalink><files><file><resources><url protocol="https">https://m/repodata/repomd.xml</url></resources></file></files></metalink>`))
	f.Add([]byte("Package: a\nVersion: 1\nArchitecture: all\nFilename: pool/a.deb\nSHA256: ab\nSize: 3\n\n"))
	f.Add([]byte(`<metadata><package type="rpm"><name>a</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/><checksum type="sha256">ab</checksum><location href="a.rpm"/></package></metadata>`))
	f.Add([]byte("$releasever/${basearch}/$x${"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseRelease(data)
		releaseField(data, "Valid-Until")
		parseRepoMD(data)
		parseMetalink(data)
		expandVars(string(data), map[string]string{"releasever": "9", "basearch": "x86_64"})
		p := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		readPackages(p, "", nil)
		readPrimary(p, "", nil)
	})
}
