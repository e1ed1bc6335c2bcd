package evidence

import (
	"strings"
	"testing"
	"time"

	"rescue/parse/console"
)

// FuzzAnalyze reads arbitrary bytes as a console capture and as the lines
// of each text log format: no panic, and what comes out is bounded.
func FuzzAnalyze(f *testing.F) {
	f.Add([]byte(messagesEL7))
	f.Add([]byte(secureEL7 + auditEL7))
	f.Add([]byte("rescue-test login: root\r\nPassword: \r\nLogin incorrect\r\nrescue-test login: \r\n"))
	f.Add([]byte("[    0.000000] Linux version 6.1\n[   91.0] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, a := range Console(console.Decode(data), "fuzz") {
			if len(a.Events) > maxEvents {
				t.Fatalf("%d events", len(a.Events))
			}
			_ = a.String()
		}
		for _, format := range []string{"syslog", "audit", "cloud-init", "dmesg", "plain"} {
			a := &Analysis{Source: "logs", Boot: "last"}
			z := newAnalyzer(a, false)
			for i, raw := range strings.Split(string(data), "\n") {
				if l, ok := parseTextLine(format, "/var/log/x", i+1, raw, time.Unix(1796115600, 0), time.UTC); ok {
					z.add(l)
				}
			}
			z.finish()
		}
	})
}
