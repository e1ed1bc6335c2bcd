package sshdconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/sysroot"
)

func TestSplitArgs(t *testing.T) {
	for in, want := range map[string][]string{
		`yes`:                     {"yes"},
		`a b	c`:                   {"a", "b", "c"},
		`"a b" 'c d'`:             {"a b", "c d"},
		`no # a comment`:          {"no"},
		`a#b`:                     {"a#b"},
		`"quoted \" quote"`:       {`quoted " quote`},
		`path\ with\ blanks next`: {"path with blanks", "next"},
		``:                        nil,
	} {
		got, err := SplitArgs(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := SplitArgs(`"unbalanced`)
	assert.Error(t, err)
}

func TestParseLines(t *testing.T) {
	c := Parse("/etc/ssh/sshd_config", []byte(
		"# comment\n"+
			"Port=2222\n"+
			"  PermitRootLogin = no   \r\n"+
			"UsePAM\n"+
			"Banner \"/etc/issue net\"\n"+
			"Match User admin\n"+
			"\tPasswordAuthentication yes\n"+
			"Match All\n"+
			"MaxAuthTries 3\n"))
	require.Len(t, c.Directives, 8)
	d := c.Directives[0]
	assert.Equal(t, "Port", d.Keyword)
	assert.Equal(t, "port", d.Key)
	assert.Equal(t, []string{"2222"}, d.Args)
	assert.Equal(t, 2, d.Line)
	assert.Equal(t, []string{"no"}, c.Directives[1].Args)
	assert.Empty(t, c.Directives[2].Args, "a keyword without a value")
	assert.Equal(t, []string{"/etc/issue net"}, c.Directives[3].Args)
	assert.Equal(t, "match", c.Directives[4].Key)
	assert.Nil(t, c.Directives[4].Match)
	assert.Same(t, c.Directives[4], c.Directives[5].Match)
	assert.Equal(t, "match", c.Directives[6].Key)
	assert.Nil(t, c.Directives[7].Match, "Match All ends the block")
	assert.Equal(t, "no", c.First("permitrootlogin").Args[0])
	assert.Nil(t, c.First("passwordauthentication"), "only in a Match block")
	assert.Len(t, c.InMatch("passwordauthentication"), 1)
}

func TestLoadIncludes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	write("etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nMatch User x\nInclude extra.conf\nX11Forwarding no\n")
	write("etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication no\nMatch Group g\nAllowTcpForwarding no\n")
	write("etc/ssh/sshd_config.d/10-first.conf", "PermitRootLogin no\n")
	write("etc/ssh/sshd_config.d/README", "not included\n")
	write("etc/ssh/extra.conf", "Banner none\n")
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()

	c, err := Load(root, "/etc/ssh/sshd_config", true)
	require.NoError(t, err)
	assert.Equal(t, []string{"/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/10-first.conf", "/etc/ssh/sshd_config.d/50-cloud-init.conf", "/etc/ssh/extra.conf"}, c.Files)
	first := c.First("permitrootlogin")
	require.NotNil(t, first)
	assert.Equal(t, "no", first.Args[0], "the first value read wins, and the include comes first")
	assert.Equal(t, "/etc/ssh/sshd_config.d/10-first.conf", first.Path)
	// The Match block opened in 50-cloud-init.conf ends with that file.
	prl := c.Global("permitrootlogin")
	require.Len(t, prl, 2)
	assert.Equal(t, "/etc/ssh/sshd_config", prl[1].Path)
	// An include inside a Match block inherits it.
	banner := c.InMatch("banner")
	require.Len(t, banner, 1)
	assert.Equal(t, "match", banner[0].Match.Key)
	assert.Equal(t, 3, banner[0].Match.Line)
	assert.Empty(t, c.Problems)

	_, err = Load(root, "/etc/ssh/missing", true)
	assert.Error(t, err)

	c, err = Load(root, "/etc/ssh/sshd_config", false)
	require.NoError(t, err)
	assert.Equal(t, []string{"/etc/ssh/sshd_config"}, c.Files, "an sshd without Include reads the main file only")
}

func TestIncludeLoop(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc/ssh"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/ssh/sshd_config"), []byte("Include sshd_config\n"), 0o644))
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	c, err := Load(root, "/etc/ssh/sshd_config", true)
	require.NoError(t, err)
	require.Len(t, c.Problems, 1)
	assert.Equal(t, ProblemCycle, c.Problems[0].Kind)
	assert.Contains(t, c.Problems[0].Message, "closes an include loop")
}

// Three self-includes grew as 3^16 (15 GB seen); cycles are cut where
// they close, and a diamond that is no cycle is bounded by the lines and
// files read.
func TestIncludeExplosionsAreBounded(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
	write("etc/ssh/sshd_config", strings.Repeat("Include /etc/ssh/sshd_config\n", 3)+"Include d0\nPort 22\n")
	for i := 0; i < 16; i++ {
		write(fmt.Sprintf("etc/ssh/d%d", i), strings.Repeat(fmt.Sprintf("Include d%d\n", i+1), 3)+"PermitRootLogin no\n")
	}
	write("etc/ssh/d16", "Port 2222\n")
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	c, err := Load(root, "/etc/ssh/sshd_config", true)
	require.NoError(t, err)
	kinds := map[ProblemKind]int{}
	for _, p := range c.Problems {
		kinds[p.Kind]++
	}
	assert.Equal(t, map[ProblemKind]int{ProblemCycle: 3, ProblemDepth: 3, ProblemTooLarge: 1}, kinds)
	assert.LessOrEqual(t, len(c.Files), maxReads+1)
	assert.LessOrEqual(t, len(c.Directives), maxLines)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("Port 22\nMatch User a\n  X 'y z' # c\nInclude a b\n"))
	f.Add([]byte("k=\"\\\"\n= =\n\\\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Parse("/f", data)
		for _, d := range c.Directives {
			if d.Key == "" || d.Line < 1 {
				t.Fatalf("bad directive %+v", d)
			}
		}
	})
}
