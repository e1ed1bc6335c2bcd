package evidence

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/parse/console"
)

var (
	update = flag.Bool("update", false, "rewrite testdata/console/*.want (and, with -e2e-out, the transcripts)")
	e2eOut = flag.String("e2e-out", "", "with -update: take the transcripts and findings from this `make e2e` output directory")
)

// e2eScenarios is what each e2e scenario that fails to boot (or boots
// degraded) must show in its serial console transcript: the class, and a
// finding of the fix that one of the decisive events is linked to. The
// classes are those the boot proof saw live; the console is silent for the
// GRUB faults (GRUB prints to the screen), so offline they are SILENT.
var e2eScenarios = map[string]struct {
	class   Class
	finding string
}{
	"fstab-root-uuid":     {LoggedIn, "fstab/root-source-unknown:/etc/fstab#/"},
	"fstab-missing-disk":  {Emergency, "fstab/source-unknown:/etc/fstab#/data"},
	"grub-root-uuid":      {InitramfsShell, "grub/root-unknown:/boot/grub/grub.cfg#root=UUID=deadbeef-0000-4000-8000-000000000000"},
	"grub-cfg-empty":      {Silent, "grub/config-empty:/boot/grub/grub.cfg"},
	"grub-cfg-deleted":    {Silent, "grub/config-missing:/boot/grub/grub.cfg"},
	"chmod-777-etc-ssh":   {LoggedIn, "perms/host-key:/etc/ssh/"},
	"pam-unix-deleted":    {LoginRefused, "pam/module-missing:/lib/x86_64-linux-gnu/security/pam_unix.so"},
	"zero-login":          {LoginRefused, "zerosize/empty:/usr/bin/login"},
	"zero-bash":           {NoShell, "zerosize/empty:/usr/bin/bash"},
	"zero-systemd":        {KernelPanic, "zerosize/empty:/usr/lib/systemd/systemd"},
	"profile-self-source": {NoShell, "profile/source-cycle:/etc/profile"},
	"selinux-no-policy":   {SystemdFreeze, "selinux/no-policy:/etc/selinux/config"},
	"passwd-crlf":         {NoShell, "accounts/crlf:/etc/passwd"},
	"initramfs-deleted":   {KernelPanic, "kernels/default-incomplete:/boot/grub/grub.cfg"},
	"min-free-kbytes":     {KernelPanic, "sysctl/min-free-kbytes:/etc/sysctl.d/99-sysctl.conf#vm.min_free_kbytes"},
	// OVMF, the ESP's loaders deleted: the firmware's shell.
	"efi-loaders-deleted": {NoBootable, "bootloader/efi-loader-missing:/boot/efi/EFI"},
}

// TestConsoleGoldens reads the serial transcripts `make e2e` kept of each
// scenario's broken boot (trimmed to the lines that matter), links them to
// the findings rescue reported on the same broken image, and checks the
// scenario's class and that a decisive event is linked to the finding
// whose fix repairs it; the whole analysis is compared with a golden.
func TestConsoleGoldens(t *testing.T) {
	if *update && *e2eOut != "" {
		importTranscripts(t, *e2eOut)
	}
	files, err := filepath.Glob("testdata/console/*.log.gz")
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".log.gz")
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			a := analyseGolden(t, strings.TrimSuffix(f, ".log.gz"))
			got := render(a, true)
			wantFile := strings.TrimSuffix(f, ".log.gz") + ".want"
			if *update {
				require.NoError(t, os.WriteFile(wantFile, []byte(got), 0o644))
			}
			want, err := os.ReadFile(wantFile)
			require.NoError(t, err)
			assert.Equal(t, string(want), got)
			w, ok := e2eScenarios[name]
			if !ok {
				return
			}
			assert.Equal(t, w.class, a.Class, "why: %s", a.Why)
			var linked []string
			for _, e := range a.Events {
				if e.Decisive {
					linked = append(linked, e.Findings...)
				}
			}
			assert.True(t, slices.ContainsFunc(linked, func(id string) bool { return strings.HasPrefix(id, w.finding) }),
				"no decisive event of %s is linked to %s (linked: %v)", name, w.finding, linked)
		})
	}
	for name := range e2eScenarios {
		assert.True(t, seen[name], "no transcript of %s in testdata/console", name)
	}
}

// analyseGolden reads testdata/console/NAME.log.gz and NAME.findings.
func analyseGolden(t *testing.T, base string) *Analysis {
	t.Helper()
	data := gunzipFile(t, base+".log.gz")
	ids, err := os.ReadFile(base + ".findings")
	require.NoError(t, err)
	var fs []checks.Finding
	for _, id := range strings.Fields(string(ids)) {
		fs = append(fs, finding(id))
	}
	a := Console(console.Decode(data), filepath.Base(base)+".log")[0]
	Link([]*Analysis{a}, fs)
	return a
}

func gunzipFile(t *testing.T, p string) []byte {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	z, err := gzip.NewReader(f)
	require.NoError(t, err)
	data, err := io.ReadAll(z)
	require.NoError(t, err)
	return data
}

// render writes an analysis as the golden holds it; without line numbers
// when lines is false (to compare a trimmed transcript with the whole).
func render(a *Analysis, lines bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "class: %s\nwhy: %s\nreached: %s\nstages:", a.Class, a.Why, a.Reached)
	for _, m := range a.Stages {
		fmt.Fprintf(&b, " %s", m.Stage)
	}
	m := a.Machine
	fmt.Fprintf(&b, "\nmachine: memory=%d disk=%s bus=%s nics=%s\n", m.MemoryBytes, m.Disk, m.Bus, strings.Join(m.NICs, ","))
	for _, e := range a.Events {
		mark := " "
		if e.Decisive {
			mark = "!"
		}
		n := ""
		if lines {
			n = fmt.Sprintf(" line %d", e.Line.N)
		}
		links := "not explained by any check"
		if len(e.Findings) > 0 {
			links = strings.Join(e.Findings, " ")
		}
		fmt.Fprintf(&b, "%s %s %q x%d%s: %q\n    -> %s\n", mark, e.Kind, e.Subject, max(e.Count, 1), n, e.Line.Text, links)
	}
	return b.String()
}

// importTranscripts copies each scenario's broken-boot transcript from a
// `make e2e` output directory, trimmed, with the IDs of the findings rescue
// reported on the broken image (its fix.json).
func importTranscripts(t *testing.T, dir string) {
	logs, err := filepath.Glob(filepath.Join(dir, "*", "broken-serial.log"))
	require.NoError(t, err)
	for _, p := range logs {
		name := filepath.Base(filepath.Dir(p))
		if _, ok := e2eScenarios[name]; !ok {
			continue
		}
		full, err := os.ReadFile(p)
		require.NoError(t, err)
		var fix struct {
			Findings []struct {
				ID string `json:"id"`
			} `json:"findings"`
		}
		data, err := os.ReadFile(filepath.Join(filepath.Dir(p), "fix.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(data, &fix))
		var ids []string
		for _, f := range fix.Findings {
			ids = append(ids, f.ID)
		}
		trimmed := trim(full)
		// Trimming must not change what the transcript shows.
		a := Console(console.Decode(full), name)[0]
		b := Console(console.Decode(trimmed), name)[0]
		require.Equal(t, render(a, false), render(b, false), "%s: the trimmed transcript reads differently", name)
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		zw.Write(trimmed)
		zw.Close()
		base := filepath.Join("testdata", "console", name)
		require.NoError(t, os.MkdirAll(filepath.Dir(base), 0o755))
		require.NoError(t, os.WriteFile(base+".log.gz", z.Bytes(), 0o644))
		require.NoError(t, os.WriteFile(base+".findings", []byte(strings.Join(ids, "\n")+"\n"), 0o644))
		t.Logf("%s: %d of %d bytes kept", name, len(trimmed), len(full))
	}
}

// keepLine says what a transcript keeps: every line some pattern of the
// package reads, the login dialogue, and the start and end.
var keepLine = regexp.MustCompile(`login:|Password:|Login incorrect|Linux \S+ \d|[#$] |MARK|STATE=`)

// trim keeps the raw lines (escape sequences and all) that matter.
func trim(raw []byte) []byte {
	lines := bytes.SplitAfter(raw, []byte("\n"))
	var out []byte
	for i, l := range lines {
		if i < 20 || i >= len(lines)-60 || relevant(l) {
			out = append(out, l...)
		}
	}
	return out
}

func relevant(raw []byte) bool {
	for _, cl := range console.Decode(raw).Lines {
		text := consoleLine(cl).Text
		if keepLine.MatchString(cl.Text) {
			return true
		}
		for re := range needles {
			if mayMatch(re, text) && re.MatchString(text) {
				return true
			}
		}
	}
	return false
}
