package console

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// raw is the start of a real serial transcript of the Debian 12 test image
// (GRUB's menu drawn with cursor moves, the kernel's timestamps, systemd's
// coloured status) and the end of an emergency-mode boot.
const raw = "\x1b[H\x1b[J\x1b[1;1H\x1b[?25l\x1b[m\x1b[H\x1b[J\x1b[1;1H\x1b[2;24HGNU GRUB  version 2.06-13+deb12u2\r\n\r\n" +
	"\x1b[m\x1b[4;2H+------+\x1b[5;2H|\x1b[5;79H|\r\n" +
	"  Booting `Debian GNU/Linux'\r\n\r\n\rLoading Linux 6.1.0-57-amd64 ...\r\n\rLoading initial ramdisk ...\r\n" +
	"\r[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)\r\n" +
	"[    0.284011] Memory: 985432K/1048040K available (14336K kernel code)\r\n" +
	"[\x1b[0;1;31mFAILED\x1b[0m] Failed to mount \x1b[0;1;39mdata.mount\x1b[0m - /data.\r\r\n" +
	"[\x1b[0;1;38;5;185mDEPEND\x1b[0m] Dependency failed for \x1b[0;1;39mlocal-fs.target\x1b[0m - Local File Systems.\r\r\n" +
	"You are in emergency mode. After logging in, type \"journalctl -xb\" to view\r\n" +
	"\x1b[?2004hroot@rescue-test:~# \x07\x08bell\r\n" +
	"[\x1b[0;1;31mFAILED\x1b[0m] Failed to start \x1b[0;1;39mssh.servic\xe2\x80\xa6[0m - OpenBSD Secure Shell server.\r\r\n"

var want = []string{
	"GNU GRUB  version 2.06-13+deb12u2",
	"+------+||",
	"  Booting `Debian GNU/Linux'",
	"Loading Linux 6.1.0-57-amd64 ...",
	"Loading initial ramdisk ...",
	"[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)",
	"[    0.284011] Memory: 985432K/1048040K available (14336K kernel code)",
	"[FAILED] Failed to mount data.mount - /data.",
	"[DEPEND] Dependency failed for local-fs.target - Local File Systems.",
	"You are in emergency mode. After logging in, type \"journalctl -xb\" to view",
	"root@rescue-test:~# bell",
	"[FAILED] Failed to start ssh.servic… - OpenBSD Secure Shell server.",
}

func texts(c *Capture) []string {
	var s []string
	for _, l := range c.Lines {
		s = append(s, l.Text)
	}
	return s
}

// TestFormats decodes the same console output as each cloud's CLI prints
// it, and as a plain file.
func TestFormats(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(raw))
	js := func(v any) []byte { b, _ := json.MarshalIndent(v, "", "    "); return b }
	// The base64 broken into 76-column lines, as base64(1) writes it.
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 76 {
		wrapped.WriteString(b64[i:min(i+76, len(b64))] + "\n")
	}
	cases := []struct {
		format string
		data   []byte
	}{
		{"text", []byte(raw)},
		{"base64", []byte(wrapped.String())},
		{"aliyun-json", js(map[string]string{"RequestId": "6EF60BEC-0242-43AF-BB20-270359FB54A7", "InstanceId": "i-bp1h7y3u5s9s6yjrjxuz", "ConsoleOutput": b64})},
		{"aws-json", js(map[string]string{"InstanceId": "i-0598c7d356eba48d7", "Timestamp": "2026-12-01T01:54:03.000Z", "Output": raw})},
		{"aws-json", js(map[string]string{"InstanceId": "i-0598c7d356eba48d7", "Output": b64})},
		{"aws-text", []byte("i-0598c7d356eba48d7\t" + raw + "\t2026-12-01T01:54:03.000Z\n")},
		{"gcloud-json", js(map[string]any{"contents": raw, "next": 4096, "start": 0, "kind": "compute#serialPortOutput"})},
	}
	for _, c := range cases {
		t.Run(c.format, func(t *testing.T) {
			got := Decode(c.data)
			assert.Equal(t, c.format, got.Format)
			assert.Equal(t, want, texts(got))
		})
	}
}

func TestKernelTimestamps(t *testing.T) {
	c := Decode([]byte(raw))
	var kernel []Line
	for _, l := range c.Lines {
		if l.HasUptime {
			kernel = append(kernel, l)
		}
	}
	require.Len(t, kernel, 2)
	assert.Equal(t, time.Duration(0), kernel[0].Uptime)
	assert.Equal(t, 284011*time.Microsecond, kernel[1].Uptime)
	// Line numbers count every line end of the decoded text, empty
	// lines included, so that a line can be found in the capture.
	assert.Equal(t, 1, c.Lines[0].N)
	assert.Greater(t, kernel[1].N, kernel[0].N)
}

// TestTextThatIsValidBase64 is a capture whose few words happen to be
// valid base64: it stays text.
func TestTextThatIsValidBase64(t *testing.T) {
	for _, s := range []string{"grub", "grubgrub\n", "Kernel panic\nsyncing"} {
		c := Decode([]byte(s))
		assert.Equal(t, "text", c.Format, s)
	}
}

func TestBounds(t *testing.T) {
	long := strings.Repeat("x", 3*maxLine)
	c := Decode([]byte(long + "\n"))
	require.Len(t, c.Lines, 1)
	assert.Len(t, c.Lines[0].Text, maxLine)

	many := strings.Repeat("l\n", MaxLines+10) + "last\n"
	c = Decode([]byte(many))
	assert.Len(t, c.Lines, MaxLines)
	assert.Equal(t, 11, c.Dropped)
	assert.Equal(t, "last", c.Lines[len(c.Lines)-1].Text)

	c = Decode([]byte("bad \xff\xfe utf8\n"))
	assert.Equal(t, "bad \ufffd\ufffd utf8", c.Lines[0].Text)
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(raw))
	f.Add([]byte(base64.StdEncoding.EncodeToString([]byte(raw))))
	f.Add([]byte(`{"ConsoleOutput":"` + base64.StdEncoding.EncodeToString([]byte(raw)) + `"}`))
	f.Add([]byte("i-0598c7d356eba48d7\tx\n\t2026-12-01T01:54:03.000Z"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Decode(data)
		if len(c.Lines) > MaxLines {
			t.Fatalf("%d lines", len(c.Lines))
		}
		for _, l := range c.Lines {
			if l.Text == "" || len(l.Text) > maxLine+4 || strings.ContainsAny(l.Text, "\r\n\x1b") {
				t.Fatalf("line %q", l.Text)
			}
		}
	})
}
