package nftables

import (
	"io/fs"
	"path"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// debian12 is Debian 12's shipped /etc/nftables.conf: hooks with no rules
// and the accept policy.
const debian12 = `#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter;
	}
	chain forward {
		type filter hook forward priority filter;
	}
	chain output {
		type filter hook output priority filter;
	}
}
`

// server is a typical hand-written server ruleset.
const server = `#!/usr/sbin/nft -f
flush ruleset
define SSH_PORTS = { 22, 2222 }

table inet filter {
	set blocked { type ipv4_addr; elements = { 1.2.3.4 } }
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		ct state invalid drop
		iif lo accept
		ip protocol icmp accept
		udp dport 53 accept
		tcp dport $SSH_PORTS ct state new accept
		tcp dport { 80, 443 } accept
	}
}
`

func TestDebian12(t *testing.T) {
	rs := Parse("/etc/nftables.conf", []byte(debian12))
	require.Empty(t, rs.Problems)
	require.Len(t, rs.InputChains(), 1)
	v := rs.TCPIn(22)
	assert.True(t, v.Allowed, v.Why)
}

func TestServer(t *testing.T) {
	rs := Parse("/etc/nftables.conf", []byte(server))
	require.Empty(t, rs.Problems)
	ch := rs.InputChains()
	require.Len(t, ch, 1)
	assert.Equal(t, "drop", ch[0].Policy)
	assert.Equal(t, 8, ch[0].Start)
	assert.Equal(t, 16, ch[0].End)
	for _, p := range []int{22, 2222, 80} {
		v := rs.TCPIn(p)
		assert.True(t, v.Allowed, "%d: %s", p, v.Why)
	}
	v := rs.TCPIn(8080)
	assert.True(t, v.Blocked, v.Why)
	assert.Nil(t, v.Rule)
	assert.Contains(t, v.Why, "policy is drop")
}

func TestRules(t *testing.T) {
	for _, c := range []struct {
		name, chain      string
		allowed, blocked bool
		line             int // the deciding rule, 0 for the policy
	}{
		{"explicit drop", "tcp dport 22 drop\ntcp dport 22 accept", false, true, 3},
		{"reject with", "tcp dport ssh counter reject with tcp reset", false, true, 3},
		{"drop all but lo", "iifname \"lo\" accept\ndrop", false, true, 4},
		{"range accept then drop", "tcp dport 20-30 accept\ndrop", true, false, 3},
		{"negated drop", "tcp dport != 22 drop", true, false, 0},
		{"source-limited accept, drop policy", "policy drop;\nip saddr 10.0.0.0/8 tcp dport 22 accept", false, false, 4},
		{"source-limited drop", "ip saddr 1.2.3.4 drop", true, false, 0},
		{"named set accept", "policy drop;\ntcp dport @ssh accept", false, false, 4},
		{"ct state vmap", "policy drop;\nct state vmap { established : accept, related : accept, invalid : drop }\ntcp dport 22 accept", true, false, 5},
		{"jump to a user chain", "policy drop;\njump ssh_in", true, false, 7},
		{"jump to nowhere", "policy drop;\njump missing", false, false, 4},
		{"udp only", "policy drop;\nudp dport 22 accept", false, true, 0},
		{"log then drop", "log prefix \"drop \" drop", false, true, 3},
		{"limit is a narrowing", "limit rate 10/second accept\ndrop", false, false, 3},
		{"meta l4proto", "meta l4proto tcp th dport 22 accept\ndrop", true, false, 3},
		{"two statements on a line", "ct state established accept; tcp dport 22 reject", false, true, 3},
	} {
		data := "table inet filter {\n\tchain input {\n" + "type filter hook input priority 0;\n" + c.chain + "\n\t}\n\tchain ssh_in {\n\t\ttcp dport 22 accept\n\t}\n}\n"
		// The hook line is line 3: rules start at line 4 — shift the
		// expectations written against "line 3 is the first rule".
		rs := Parse("/f", []byte(data))
		require.Empty(t, rs.Problems, c.name)
		v := rs.TCPIn(22)
		assert.Equal(t, c.allowed, v.Allowed, "%s: %s", c.name, v.Why)
		assert.Equal(t, c.blocked, v.Blocked, "%s: %s", c.name, v.Why)
		if c.line > 0 {
			if assert.NotNil(t, v.Rule, c.name) {
				assert.Equal(t, c.line+1, v.Rule.Line, c.name)
			}
		} else {
			assert.Nil(t, v.Rule, "%s: %s", c.name, v.Why)
		}
	}
}

func TestCommandForm(t *testing.T) {
	data := `add table ip filter
add chain ip filter INPUT { type filter hook input priority 0; policy accept; }
add rule ip filter INPUT ct state established,related accept
add rule ip filter INPUT tcp dport 22 drop
insert rule ip filter INPUT iif lo accept
`
	rs := Parse("/etc/sysconfig/nftables.conf", []byte(data))
	require.Empty(t, rs.Problems)
	v := rs.TCPIn(22)
	require.True(t, v.Blocked, v.Why)
	assert.Equal(t, 4, v.Rule.Line)
	assert.Equal(t, "add", v.Rule.Cmd)
	assert.Equal(t, "add rule ip filter INPUT tcp dport 22 drop", v.Rule.Text)
	assert.Equal(t, 2, v.Chain.Start)
}

func TestTwoHooks(t *testing.T) {
	// Both input hooks see the packet: the second one's drop decides
	// although the first accepts.
	data := "table inet a {\n chain in { type filter hook input priority 0; tcp dport 22 accept; }\n}\ntable ip b {\n chain in { type filter hook input priority 10; policy drop; }\n}\n"
	rs := Parse("/f", []byte(data))
	v := rs.TCPIn(22)
	assert.True(t, v.Blocked, v.Why)
	assert.Equal(t, "b", v.Chain.Table)
}

type mapFS map[string]string

func (m mapFS) ReadFile(name string) ([]byte, error) {
	if s, ok := m[name]; ok {
		return []byte(s), nil
	}
	return nil, fs.ErrNotExist
}

func (m mapFS) Glob(pattern string) ([]string, error) {
	var out []string
	for k := range m {
		if ok, _ := path.Match(pattern, k); ok {
			out = append(out, k)
		}
	}
	return out, nil
}

func TestInclude(t *testing.T) {
	fsys := mapFS{
		"/etc/sysconfig/nftables.conf": "include \"/etc/nftables/main.nft\"\n",
		"/etc/nftables/main.nft":       "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\tinclude \"x\"\n\t}\n}\ninclude \"nftables/extra/*.nft\"\n",
		"/etc/nftables/extra/a.nft":    "add rule inet filter input tcp dport 22 accept\n",
		"/etc/nftables/loop.nft":       "include \"/etc/nftables/loop.nft\"\n",
	}
	rs, err := Load(fsys, "/etc/sysconfig/nftables.conf")
	require.NoError(t, err)
	v := rs.TCPIn(22)
	assert.True(t, v.Allowed, v.Why)
	assert.Equal(t, "/etc/nftables/extra/a.nft", v.Rule.File)

	rs, err = Load(fsys, "/etc/nftables/loop.nft")
	require.NoError(t, err)
	assert.NotEmpty(t, rs.Problems)
	assert.False(t, rs.TCPIn(22).Blocked)

	rs, err = Load(mapFS{"/a": "include \"/missing\"\ntable ip f { chain i { type filter hook input priority 0; policy drop; } }\n"}, "/a")
	require.NoError(t, err)
	assert.NotEmpty(t, rs.Problems, "nft refuses a missing plain include")
	assert.False(t, rs.TCPIn(22).Blocked)
}

func TestUnbalanced(t *testing.T) {
	rs := Parse("/f", []byte("table inet filter {\n chain input { type filter hook input priority 0; policy drop;\n"))
	assert.NotEmpty(t, rs.Problems)
	assert.False(t, rs.TCPIn(22).Blocked)
}

func TestBraceSeparation(t *testing.T) {
	// nft 1.0.6 refuses "} }" ("unexpected '}', expecting newline or
	// semicolon"), so nothing of the file is loaded; "}; }" it accepts.
	bad := Parse("/f", []byte("table ip f { chain i { type filter hook input priority 0; policy drop; }; }\ntable ip g { chain i { type filter hook input priority 0; policy drop; } }\n"))
	assert.NotEmpty(t, bad.Problems)
	assert.False(t, bad.TCPIn(22).Blocked)
	good := Parse("/f", []byte("table ip f { chain i { type filter hook input priority 0; policy drop; }; }\n"))
	assert.Empty(t, good.Problems)
	assert.True(t, good.TCPIn(22).Blocked)
	good = Parse("/f", []byte("table ip f {\n\tchain i {\n\t\ttype filter hook input priority 0; policy drop;\n\t}\n} # end"))
	assert.Empty(t, good.Problems)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(debian12))
	f.Add([]byte(server))
	f.Add([]byte("add chain ip f c { type filter hook input priority 0; policy drop; }\nadd rule ip f c jump c\ninsert rule ip f c handle 3 drop\ndefine A = $A\nadd rule ip f c tcp dport $A vmap { 22 : drop }\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs := Parse("/f", data)
		v := rs.TCPIn(22)
		if v.Allowed && v.Blocked {
			t.Fatalf("both allowed and blocked: %+v", v)
		}
		if v.Blocked && v.Chain == nil {
			t.Fatalf("blocked without a chain: %+v", v)
		}
	})
}
