package rclocal

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"rescue/checks/checkstest"
)

func TestGolden(t *testing.T) {
	checkstest.Run(t, Check)
}

// kinds runs Analyze on a script and returns "kind:line" for each finding.
func kinds(script string, debian bool) []string {
	var out []string
	for _, f := range Analyze("/etc/rc.local", []byte(script), debian, func(string) bool { return true }) {
		out = append(out, f.Kind+":"+f.Severity.String()+":"+strconv.Itoa(f.Line))
	}
	return out
}

func TestAnalyze(t *testing.T) {
	for _, c := range []struct {
		name   string
		script string
		want   []string
	}{
		{"background is fine", "#!/bin/sh\n/opt/server &\nsleep 5\nexit 0\n", nil},
		{"foreground sleep", "#!/bin/sh\nsleep 2m\nexit 0\n", []string{"blocks:warning:2"}},
		{"sleep infinity", "#!/bin/sh\nsleep infinity\n", []string{"blocks:error:2"}},
		{"until false", "#!/bin/bash\nuntil false; do date; done\n", []string{"blocks:error:2"}},
		{"while with break", "#!/bin/bash\nwhile :; do ping -c1 gw && break; sleep 1; done\n", nil},
		{"while [ 1 ]", "#!/bin/bash\nwhile [ 1 ]\ndo\n  x\ndone\n", []string{"blocks:error:2"}},
		{"c-style loop", "#!/bin/bash\nfor ((;;)); do x; done\n", []string{"blocks:error:2"}},
		{"backgrounded loop", "#!/bin/bash\nwhile true; do x; done &\n", nil},
		{"tail -f in a pipeline", "#!/bin/sh\ntail -F /var/log/x | grep y\n", []string{"blocks:error:2"}},
		{"nohup without &", "#!/bin/sh\nnohup nice -n 5 socat TCP-LISTEN:80 TCP:x:80\n", []string{"blocks:error:2"}},
		{"timeout ends", "#!/bin/sh\ntimeout 30 tail -f /x\n", nil},
		{"ping without count", "#!/bin/sh\nping 10.0.0.1\nping -c 3 10.0.0.1\n", []string{"blocks:error:2"}},
		{"docker detached", "#!/bin/sh\ndocker run -d nginx\ndocker run --rm -it nginx\n", []string{"blocks:error:3"}},
		{"in an if", "#!/bin/sh\nif [ -x /x ]; then\n  journalctl -f\nfi\n", []string{"blocks:error:3"}},
		{"after exit", "#!/bin/sh -e\nexit 0\n/opt/x &\n", []string{"after-exit:warning:3"}},
		{"no exit on debian", "#!/bin/sh -e\n/opt/x\n", []string{"exit-missing:info:2"}},
		{"no shebang", "/opt/x &\nexit 0\n", []string{"no-interpreter:warning:1"}},
		{"crlf", "#!/bin/sh\r\nexit 0\r\n", []string{"crlf:warning:1"}},
		{"syntax error", "#!/bin/sh\nif then\n", []string{"syntax-error:warning:2"}},
		{"a megabyte deep", "#!/bin/sh\n" + strings.Repeat("(", 1<<20), []string{"syntax-error:warning:0"}},
		{"lines past the parser's limit", "#!/bin/sh\n" + strings.Repeat("\n", 300000) + "exit 0\nsleep infinity\n", []string{"blocks:error:300003", "after-exit:warning:300003"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, kinds(c.script, c.name == "no exit on debian"))
		})
	}
}

func TestMissingInterpreter(t *testing.T) {
	fs := Analyze("/etc/rc.local", []byte("#!/bin/bash\nexit 0\n"), false, func(p string) bool { return p != "/bin/bash" })
	if assert.Len(t, fs, 1) {
		assert.Equal(t, "interpreter-missing", fs[0].Kind)
	}
}

func FuzzAnalyze(f *testing.F) {
	f.Add([]byte("#!/bin/sh\nwhile true; do sleep 1; done &\nexit 0\n"))
	f.Add([]byte("#!\r\nfor ((;;)); do :; done\n$(\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fd := range Analyze("/etc/rc.local", data, true, func(string) bool { return true }) {
			if fd.Kind == "" || fd.NoFix == "" {
				t.Fatalf("bad finding %+v", fd)
			}
		}
	})
}
