package iptables

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// el7 is CentOS 7's shipped /etc/sysconfig/iptables.
const el7 = `# sample configuration for iptables service
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -j REJECT --reject-with icmp-host-prohibited
COMMIT
`

func TestEL7(t *testing.T) {
	tb := Parse([]byte(el7))
	require.True(t, tb.Found)
	assert.Equal(t, 12, tb.Commit)
	v := tb.TCPIn(22)
	assert.True(t, v.Allowed, v.Why)
	require.NotNil(t, v.Rule)
	assert.Equal(t, 9, v.Rule.Line)
	v = tb.TCPIn(2222)
	assert.True(t, v.Blocked, v.Why)
	assert.Equal(t, 10, v.Rule.Line)
	assert.Equal(t, "line 10 rejects it", v.Why)
}

func TestPolicies(t *testing.T) {
	// Line numbers count the "*filter" line the test puts first.
	for _, c := range []struct {
		name, rules string
		allowed     bool
		blocked     bool
		line        int
	}{
		{"policy drop, nothing accepts", ":INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp --dport 80 -j ACCEPT\n", false, true, 0},
		{"policy drop, a source-limited accept", ":INPUT DROP [0:0]\n-A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT\n", false, false, 3},
		{"explicit drop of ssh", ":INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j DROP\n-A INPUT -p tcp --dport 22 -j ACCEPT\n", false, true, 3},
		{"multiport accept", ":INPUT DROP [0:0]\n-A INPUT -p tcp -m multiport --dports 80,443,20:30 -j ACCEPT\n", true, false, 3},
		{"negated port drop", ":INPUT ACCEPT [0:0]\n-A INPUT -p tcp ! --dport 22 -j DROP\n", true, false, 0},
		{"user chain", ":INPUT DROP [0:0]\n:SSH - [0:0]\n-A INPUT -p tcp -j SSH\n-A SSH -p tcp --dport ssh -j ACCEPT\n", true, false, 5},
		{"unknown jump", ":INPUT DROP [0:0]\n-A INPUT -j f2b-sshd\n", false, false, 3},
		{"source-limited drop", ":INPUT ACCEPT [0:0]\n-A INPUT -s 1.2.3.4 -j DROP\n", true, false, 0},
	} {
		tb := Parse([]byte("*filter\n" + c.rules + "COMMIT\n"))
		v := tb.TCPIn(22)
		assert.Equal(t, c.allowed, v.Allowed, "%s: %s", c.name, v.Why)
		assert.Equal(t, c.blocked, v.Blocked, "%s: %s", c.name, v.Why)
		if c.line > 0 {
			require.NotNil(t, v.Rule, c.name)
			assert.Equal(t, c.line, v.Rule.Line, c.name)
		} else {
			assert.Nil(t, v.Rule, c.name)
		}
	}
}

func TestNoFilterTable(t *testing.T) {
	tb := Parse([]byte("*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j DROP\nCOMMIT\n"))
	assert.False(t, tb.Found)
	v := tb.TCPIn(22)
	assert.False(t, v.Blocked)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(el7))
	f.Add([]byte("*filter\n:INPUT DROP\n:A -\n-A INPUT -j A\n-A A -j INPUT\n-A INPUT ! \"x\nCOMMIT\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tb := Parse(data)
		v := tb.TCPIn(22)
		if v.Allowed && v.Blocked {
			t.Fatalf("both allowed and blocked: %+v", v)
		}
	})
}
