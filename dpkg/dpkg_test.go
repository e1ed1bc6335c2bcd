package dpkg

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const status = `Package: login
Status: install ok installed
Priority: required
Architecture: amd64
Version: 1:4.13+dfsg1-1+b1
Conffiles:
 /etc/login.defs 0d4fd1b0ad2cef3b4d4ea6d4b1ea1de4
 /etc/pam.d/login 5afbc06eb5f71fef25170cf3c936a442
 /etc/old.conf 11111111111111111111111111111111 obsolete
 /etc/gone.conf 22222222222222222222222222222222 remove-on-upgrade
Description: system login tools
 These tools are required to be able to login and use your system.

Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 2.36-9+deb12u4

Package: removed
Status: deinstall ok config-files
Version: 1.0

Status: install ok installed
Version: 2
`

func TestParseStatus(t *testing.T) {
	pkgs, problems := ParseStatus([]byte(status))
	require.Len(t, problems, 1, "the paragraph without a Package field")
	require.Len(t, pkgs, 3)
	login := pkgs[0]
	require.Equal(t, "login", login.ID())
	require.Equal(t, "1:4.13+dfsg1-1+b1", login.Version)
	require.True(t, login.Installed())
	require.Equal(t, []Conffile{
		{Path: "/etc/login.defs", Hash: "0d4fd1b0ad2cef3b4d4ea6d4b1ea1de4"},
		{Path: "/etc/pam.d/login", Hash: "5afbc06eb5f71fef25170cf3c936a442"},
		{Path: "/etc/old.conf", Hash: "11111111111111111111111111111111", Obsolete: true},
		{Path: "/etc/gone.conf", Hash: "22222222222222222222222222222222", RemoveOnUpgrade: true},
	}, login.Conffiles)
	require.Equal(t, "libc6:amd64", pkgs[1].ID(), "Multi-Arch: same packages are arch-qualified")
	require.False(t, pkgs[2].Installed())
}

func TestParseMD5Sums(t *testing.T) {
	sums, problems := ParseMD5Sums([]byte("946f50ac4a056accd0cb1f8fd975b88c  bin/login\nnot a line\nd41d8cd98f00b204e9800998ecf8427e  usr/share/doc/a b/c d\r\n"))
	require.Len(t, problems, 1)
	require.Equal(t, []Sum{
		{Path: "/bin/login", MD5: "946f50ac4a056accd0cb1f8fd975b88c"},
		{Path: "/usr/share/doc/a b/c d", MD5: "d41d8cd98f00b204e9800998ecf8427e"},
	}, sums)
}

func TestParseDiversionsAndOverrides(t *testing.T) {
	d, problems := ParseDiversions([]byte("/bin/sh\n/bin/sh.distrib\ndash\n/usr/bin/x\n/usr/bin/x.real\n:\n"))
	require.Empty(t, problems)
	require.Equal(t, []Diversion{{"/bin/sh", "/bin/sh.distrib", "dash"}, {"/usr/bin/x", "/usr/bin/x.real", ":"}}, d)
	_, problems = ParseDiversions([]byte("/bin/sh\n/bin/sh.distrib\n"))
	require.Len(t, problems, 1)

	o, problems := ParseStatOverride([]byte("root crontab 2755 /usr/bin/crontab\n#1000 #1000 0700 /home/x y\nbad line\nroot root 9999 /x\n"))
	require.Len(t, problems, 2)
	require.Equal(t, []Override{{"root", "crontab", 0o2755, "/usr/bin/crontab"}, {"#1000", "#1000", 0o700, "/home/x y"}}, o)
}

func TestFilter(t *testing.T) {
	var f Filter
	f.ParseConfig([]byte("# docs\npath-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\n"))
	require.True(t, f.Excluded("/usr/share/doc/bash/README"))
	require.True(t, f.Excluded("/usr/share/doc/bash/sub/dir/x"), "* matches / as in fnmatch without FNM_PATHNAME")
	require.False(t, f.Excluded("/usr/share/doc/bash/copyright"))
	require.True(t, f.Excluded("/usr/share/man/man1/bash.1.gz"))
	require.False(t, f.Excluded("/usr/bin/bash"))
}

func TestFnmatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"a*c", "abbbc", true}, {"a*c", "abbbd", false}, {"a?c", "abc", true},
		{"[a-c]x", "bx", true}, {"[!a-c]x", "bx", false}, {"[!a-c]x", "dx", true}, {"\\*", "*", true},
		{"\\*", "a", false}, {"[", "[", true}, {"*/x/*", "/a/x/b", true}, {"[]]", "]", true},
	} {
		require.Equal(t, c.want, fnmatch(c.p, c.s), "%q ~ %q", c.p, c.s)
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(status))
	f.Add([]byte("Package: a\nConffiles:\n /x\n  \n /y z obsolete\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := ParseStatus(data)
		for _, p := range pkgs {
			require.NotEmpty(t, p.Name)
			_ = p.ID()
			_ = p.Installed()
		}
	})
}

func FuzzParseInfo(f *testing.F) {
	f.Add([]byte("946f50ac4a056accd0cb1f8fd975b88c  bin/login\n/.\n/bin\n/bin/login\n"))
	f.Add([]byte("/bin/sh\n/bin/sh.distrib\ndash\n"))
	f.Add([]byte("root crontab 2755 /usr/bin/crontab\n"))
	f.Add([]byte("path-exclude=/usr/share/doc/*\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sums, _ := ParseMD5Sums(data)
		for _, s := range sums {
			require.Len(t, s.MD5, 32)
			require.Equal(t, byte('/'), s.Path[0])
		}
		for _, p := range ParseList(data) {
			require.Equal(t, byte('/'), p[0])
		}
		ParseDiversions(data)
		ParseStatOverride(data)
		var fl Filter
		fl.ParseConfig(data)
		fl.Excluded(string(data))
		fnmatch(string(data), string(data))
	})
}
