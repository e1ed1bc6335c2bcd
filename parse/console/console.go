// Package console decodes a serial console capture as the clouds hand it
// out, into lines of text:
//
//   - `aliyun ecs GetInstanceConsoleOutput` prints the API's JSON, whose
//     ConsoleOutput is the console's bytes in base64;
//   - `aws ec2 get-console-output` prints JSON whose Output is the text
//     (the CLI decodes the API's base64), or with --output text the
//     instance id, the text and a timestamp;
//   - `gcloud compute instances get-serial-port-output` prints the text
//     itself (with --format=json, an object whose contents is the text);
//   - a bare base64 blob (the API's field saved alone) and a plain capture
//     (a file written by qemu, virsh console or a terminal logger).
//
// The serial console carries what a terminal would render: ANSI colour and
// cursor sequences (GRUB draws its menu with them, systemd colours
// "[  OK  ]"), carriage returns, and on a crash arbitrary bytes. Decode
// strips the sequences, splits at every line end (a lone carriage return
// too: on a terminal it starts the line over), drops other control bytes
// and keeps invalid UTF-8 as U+FFFD.
package console

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxLines bounds how many lines Decode returns: the newest are kept, as
// the end of a capture is where a boot stopped. The clouds return 64 KiB
// (Alibaba Cloud, AWS) to 1 MiB (Google) at a time.
const MaxLines = 200000

// maxLine bounds one line; a longer one is cut.
const maxLine = 4096

// Capture is a decoded console capture.
type Capture struct {
	// Format says what the input was: "aliyun-json", "aws-json",
	// "aws-text", "gcloud-json", "base64" or "text".
	Format string
	Lines  []Line
	// Dropped counts lines left out at the start (beyond MaxLines).
	Dropped int
}

// Line is one line of console output.
type Line struct {
	// N is the 1-based line number in the decoded text.
	N    int
	Text string
	// Uptime is the kernel's timestamp ("[   12.345678] ") when the line
	// has one; HasUptime says whether it had.
	Uptime    time.Duration
	HasUptime bool
}

// Decode decodes a capture in any of the formats the package knows.
func Decode(data []byte) *Capture {
	format, text := unwrap(data)
	c := &Capture{Format: format}
	c.Lines, c.Dropped = split(text)
	return c
}

// unwrap finds the console text inside the cloud CLI's output.
func unwrap(data []byte) (string, []byte) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var obj map[string]json.RawMessage
		if json.Unmarshal(trimmed, &obj) == nil {
			for _, k := range []struct{ key, format string }{
				{"ConsoleOutput", "aliyun-json"}, {"Output", "aws-json"}, {"contents", "gcloud-json"},
			} {
				raw, ok := lookup(obj, k.key)
				if !ok {
					continue
				}
				var s string
				if json.Unmarshal(raw, &s) != nil {
					continue
				}
				// Alibaba Cloud's field is base64; the others are text
				// as the CLIs print them, unless saved from the raw
				// API, where they are base64 too.
				if b, ok := decodeBase64([]byte(s)); ok && (k.format == "aliyun-json" || looksLikeText(b)) {
					return k.format, b
				}
				return k.format, []byte(s)
			}
		}
	}
	if b, ok := decodeBase64(trimmed); ok && looksLikeText(b) {
		return "base64", b
	}
	// aws ec2 get-console-output --output text: "i-0abc…<TAB>text…
	// <TAB>2026-12-01T01:54:03.000Z" with the text spanning lines.
	if m := awsText.FindSubmatchIndex(data); m != nil {
		body := data[m[1]:]
		if t := awsTail.FindIndex(body); t != nil {
			body = body[:t[0]]
		}
		return "aws-text", body
	}
	return "text", data
}

var (
	awsText = regexp.MustCompile(`\A(?:OUTPUT\t)?i-[0-9a-f]{8,17}\t`)
	awsTail = regexp.MustCompile(`\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?\s*\z`)
)

// lookup finds key in obj, ignoring case, one level down too (a response
// wrapped in {"body": …} by some tools).
func lookup(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	for _, v := range obj {
		var inner map[string]json.RawMessage
		if json.Unmarshal(v, &inner) == nil {
			for k, w := range inner {
				if strings.EqualFold(k, key) {
					return w, true
				}
			}
		}
	}
	return nil, false
}

// decodeBase64 decodes standard base64 with line breaks or spaces in it.
func decodeBase64(b []byte) ([]byte, bool) {
	clean := bytes.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, b)
	if len(clean) < 8 || len(clean)%4 != 0 {
		return nil, false
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(out, clean)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

// looksLikeText says whether decoded bytes are console text rather than
// an accident of a text file being valid base64 (a word such as "grub"
// alone is): mostly printable, with a line end.
func looksLikeText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	printable := 0
	for _, c := range b {
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\r' || c == '\t' || c == 0x1b || c >= 0x80 {
			printable++
		}
	}
	return printable*10 >= len(b)*9 && bytes.ContainsAny(b, "\r\n")
}

// escape matches terminal control sequences: CSI (colours, cursor moves,
// private modes such as ESC[?2004h), OSC (titles) and two-byte escapes. A
// CSI cut short (systemd shortens a coloured unit name with "…" in the
// middle of its colour sequence) ends where its parameters end.
var escape = regexp.MustCompile("\x1b(?:\\[[0-9;?<=>!]*(?:[ -/]*[@-~])?|\\][^\x07\x1b]*(?:\x07|\x1b\\\\)?|[()][0-9A-Za-z]|[ -~])")

// cutEscape is what is left of a colour sequence systemd shortened with an
// ellipsis that took its ESC ("ssh.servic…[0m"): the rest goes too.
var cutEscape = regexp.MustCompile(`…\[[0-9;]*m`)

// kernelTime is the kernel's printk timestamp.
var kernelTime = regexp.MustCompile(`^\[\s*(\d{1,7})\.(\d{6})\]\s?`)

// split cleans the text and splits it into lines, keeping the last
// MaxLines.
func split(text []byte) ([]Line, int) {
	text = escape.ReplaceAll(text, nil)
	text = cutEscape.ReplaceAll(text, []byte("…"))
	var lines []Line
	n := 0
	for len(text) > 0 {
		i := bytes.IndexAny(text, "\r\n")
		var raw []byte
		if i < 0 {
			raw, text = text, nil
		} else {
			raw, text = text[:i], text[i+1:]
		}
		n++
		s := clean(raw)
		if s == "" {
			continue
		}
		l := Line{N: n, Text: s}
		if m := kernelTime.FindStringSubmatch(s); m != nil {
			sec, _ := strconv.ParseInt(m[1], 10, 64)
			us, _ := strconv.ParseInt(m[2], 10, 64)
			l.Uptime, l.HasUptime = time.Duration(sec)*time.Second+time.Duration(us)*time.Microsecond, true
		}
		lines = append(lines, l)
	}
	dropped := 0
	if len(lines) > MaxLines {
		dropped = len(lines) - MaxLines
		lines = append([]Line(nil), lines[dropped:]...)
	}
	return lines, dropped
}

// clean drops control bytes (a backspace, a bell, NULs a reset leaves),
// replaces invalid UTF-8, trims trailing space and cuts long lines.
func clean(raw []byte) string {
	var b strings.Builder
	for len(raw) > 0 && b.Len() < maxLine {
		r, size := utf8.DecodeRune(raw)
		raw = raw[size:]
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// Text joins the lines back into text, one per line.
func (c *Capture) Text() string {
	var b strings.Builder
	for _, l := range c.Lines {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String()
}
