package evidence

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"rescue/sysroot"
)

// textLog is a classic log file and how its lines are read.
type textLog struct {
	path   string
	format string // syslog, audit, cloud-init, dmesg, plain
	// rotated says the file is rotated by logrotate (NAME.1 or
	// NAME-YYYYMMDD holds the part before): the previous boot may be
	// there.
	rotated bool
}

// textLogs are the files read, the syslog family first.
var textLogs = []textLog{
	{"/var/log/messages", "syslog", true},
	{"/var/log/syslog", "syslog", true},
	{"/var/log/kern.log", "syslog", true},
	{"/var/log/secure", "syslog", true},
	{"/var/log/auth.log", "syslog", true},
	{"/var/log/audit/audit.log", "audit", false},
	{"/var/log/cloud-init.log", "cloud-init", false},
	{"/var/log/dmesg", "dmesg", false},
	{"/var/log/boot.log", "plain", false},
	{"/var/log/cloud-init-output.log", "plain", false},
}

// maxTextLog bounds how much of each text log is read: its last bytes,
// where the last boots are.
const maxTextLog = 8 << 20

var (
	// syslogRFC is rsyslog's high-precision format (Debian 12, EL9);
	// syslogBSD the traditional one, without a year.
	syslogRFC = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) \S+ ([^\s:\[]+)(?:\[\d+\])?: ?(.*)$`)
	syslogBSD = regexp.MustCompile(`^([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) \S+ ([^\s:\[]+)(?:\[\d+\])?: ?(.*)$`)
	auditLine = regexp.MustCompile(`^type=(\S+) msg=audit\((\d+)\.(\d+):\d+\): ?(.*)$`)
	cloudInit = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d+) - ([^\[]*)\[(\w+)\]: ?(.*)$`)
	// textBoot marks the start of a boot in a text log.
	textBoot = regexp.MustCompile(`^Linux version \d|^Command line: |^DAEMON_START |Cloud-init v\. \S+ running 'init-local'`)
)

// readTextLogs returns the analyses of the text logs' last boot and the
// one before it. starts are boot start times other sources know (the
// journal's), used where the text logs do not say where a boot began.
func readTextLogs(root *sysroot.Root, starts []time.Time) ([]*Analysis, []string) {
	loc := targetLocation(root)
	var timed, untimed []Line
	var files, notes []string
	for _, tl := range textLogs {
		paths := []string{tl.path}
		if tl.rotated {
			if p := newestRotated(root, tl.path); p != "" {
				paths = []string{p, tl.path}
			}
		}
		for _, p := range paths {
			data, mtime, err := readTail(root, p, maxTextLog)
			if err != nil {
				continue
			}
			files = append(files, p)
			for i, raw := range strings.Split(string(data), "\n") {
				l, ok := parseTextLine(tl.format, p, i+1, raw, mtime, loc)
				if !ok {
					continue
				}
				if l.Time.IsZero() {
					untimed = append(untimed, l)
				} else {
					timed = append(timed, l)
				}
			}
		}
	}
	if len(files) == 0 {
		return nil, nil
	}
	slices.SortStableFunc(timed, func(a, b Line) int { return a.Time.Compare(b.Time) })
	for _, l := range timed {
		if textBoot.MatchString(l.Text) {
			starts = append(starts, l.Time)
		}
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	starts = slices.CompactFunc(starts, func(a, b time.Time) bool { return b.Sub(a) < 2*time.Minute })
	// A boot is the lines from a minute before its start (a kernel's
	// first lines may carry the time the clock had before it was set)
	// to the next start; lines before the first start known are the end
	// of the boot before it.
	var lastStart, prevStart time.Time
	if n := len(starts); n > 0 {
		lastStart = starts[n-1].Add(-time.Minute)
		prevStart = time.Time{}.Add(1)
		if n > 1 {
			prevStart = starts[n-2].Add(-time.Minute)
		}
	} else if len(timed) > 0 {
		notes = append(notes, "the text logs mark no boot start: all their lines are read as the last boot")
	}
	last := &Analysis{Source: "logs", Boot: "last", Files: files}
	zl := newAnalyzer(last, false)
	var prev *Analysis
	var zp *analyzer
	if !prevStart.IsZero() && len(timed) > 0 && timed[0].Time.Before(lastStart) {
		prev = &Analysis{Source: "logs", Boot: "previous", Files: files}
		zp = newAnalyzer(prev, false)
	}
	for _, l := range timed {
		switch {
		case !l.Time.Before(lastStart):
			zl.add(l)
		case zp != nil && !l.Time.Before(prevStart):
			zp.add(l)
		}
	}
	// Untimed files (dmesg, boot.log) are rewritten at each boot: they
	// are the last boot's.
	for _, l := range untimed {
		zl.add(l)
	}
	out := []*Analysis{zl.finish()}
	if zp != nil {
		out = append(out, zp.finish())
	}
	return out, notes
}

// parseTextLine reads one line of a text log.
func parseTextLine(format, file string, n int, raw string, mtime time.Time, loc *time.Location) (Line, bool) {
	raw = strings.TrimRight(raw, "\r")
	if strings.TrimSpace(raw) == "" {
		return Line{}, false
	}
	l := Line{Source: file, N: n, Text: raw}
	switch format {
	case "syslog":
		if m := syslogRFC.FindStringSubmatch(raw); m != nil {
			t, err := time.Parse(time.RFC3339Nano, fixOffset(m[1]))
			if err == nil {
				l.Time = t.UTC()
			}
			l.Ident, l.Text = m[2], m[3]
		} else if m := syslogBSD.FindStringSubmatch(raw); m != nil {
			l.Time = bsdTime(m[1], mtime, loc)
			l.Ident, l.Text = m[2], m[3]
		}
	case "audit":
		if m := auditLine.FindStringSubmatch(raw); m != nil {
			sec, _ := strconv.ParseInt(m[2], 10, 64)
			ms, _ := strconv.ParseInt(m[3], 10, 64)
			l.Time = time.Unix(sec, ms*int64(time.Millisecond)).UTC()
			l.Ident, l.Text = "audit", m[1]+" "+m[4]
		}
	case "cloud-init":
		if m := cloudInit.FindStringSubmatch(raw); m != nil {
			if t, err := time.ParseInLocation("2006-01-02 15:04:05", m[1], loc); err == nil {
				l.Time = t.UTC()
			}
			l.Ident, l.Text = "cloud-init", m[4]+": "+m[5]
		}
	}
	if m := kernelPrefix.FindString(l.Text); m != "" {
		if l.Ident == "" {
			l.Ident = "kernel"
		}
		l.Uptime, l.HasUptime = kernelUptime(m), true
		l.Text = l.Text[len(m):]
	}
	l.Text = statusPrefix.ReplaceAllString(l.Text, "")
	if l.Text == "" {
		return Line{}, false
	}
	return l, true
}

// fixOffset turns a +0100 offset into +01:00 for time.Parse.
func fixOffset(s string) string {
	if n := len(s); n > 5 && (s[n-5] == '+' || s[n-5] == '-') && s[n-3] != ':' {
		return s[:n-2] + ":" + s[n-2:]
	}
	return s
}

// bsdTime reads "Dec  1 01:54:03", which has no year: it is the year of
// the file's last change, or the one before for a month after that.
func bsdTime(s string, mtime time.Time, loc *time.Location) time.Time {
	t, err := time.ParseInLocation("Jan _2 15:04:05", s, loc)
	if err != nil {
		return time.Time{}
	}
	year := mtime.In(loc).Year()
	if mtime.IsZero() {
		year = time.Now().Year()
	}
	if t.Month() > mtime.In(loc).Month() && !mtime.IsZero() {
		year--
	}
	return time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc).UTC()
}

var uptimeDigits = regexp.MustCompile(`(\d+)\.(\d{6})`)

func kernelUptime(prefix string) time.Duration {
	m := uptimeDigits.FindStringSubmatch(prefix)
	if m == nil {
		return 0
	}
	sec, _ := strconv.ParseInt(m[1], 10, 64)
	us, _ := strconv.ParseInt(m[2], 10, 64)
	return time.Duration(sec)*time.Second + time.Duration(us)*time.Microsecond
}

// newestRotated finds the newest rotated part of a log: NAME.1, or the
// newest NAME-YYYYMMDD (logrotate's dateext). Compressed parts are not
// read.
func newestRotated(root *sysroot.Root, p string) string {
	if root.Exists(p + ".1") {
		return p + ".1"
	}
	m, _ := root.Glob(p + "-[0-9]*")
	var best string
	for _, c := range m {
		if strings.HasSuffix(c, ".gz") || strings.HasSuffix(c, ".xz") || strings.HasSuffix(c, ".bz2") {
			continue
		}
		if c > best {
			best = c
		}
	}
	return best
}

// readTail reads the last limit bytes of a file in the target, from the
// start of a line, and its modification time.
func readTail(root *sysroot.Root, p string, limit int64) ([]byte, time.Time, error) {
	f, err := root.Open(p)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	if !st.Mode().IsRegular() {
		return nil, time.Time{}, fmt.Errorf("%s is not a regular file", p)
	}
	off := int64(0)
	if st.Size() > limit {
		off = st.Size() - limit
	}
	data := make([]byte, st.Size()-off)
	n, err := f.ReadAt(data, off)
	if err != nil && err != io.EOF {
		return nil, time.Time{}, fmt.Errorf("reading %s: %w", p, err)
	}
	data = data[:n]
	if off > 0 {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return data, st.ModTime(), nil
}

// targetLocation is the target's time zone (/etc/localtime), in which its
// syslog writes times without a zone; UTC when it cannot be read.
func targetLocation(root *sysroot.Root) *time.Location {
	data, err := root.ReadFileLimit("/etc/localtime", 1<<20)
	if err != nil {
		return time.UTC
	}
	loc, err := time.LoadLocationFromTZData("target", data)
	if err != nil {
		return time.UTC
	}
	return loc
}
