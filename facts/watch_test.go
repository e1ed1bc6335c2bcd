package facts_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"rescue/facts"
	"rescue/sysroot"
)

// TestWatch: a watched view reports the declared facts its caller asks for,
// shares what is parsed with the view it came from, and does not report
// what a fact needs to build itself (Boot reads fstab and os-release).
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "fstab"), []byte("UUID=1 / ext4 defaults 0 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := sysroot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	base := facts.New(root, facts.Options{})
	var seen []facts.Fact
	w := base.Watch(func(f facts.Fact) { seen = append(seen, f) })
	if _, err := w.Boot(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []facts.Fact{facts.BootLoader}) {
		t.Fatalf("Boot reported %q, want only boot-loader", seen)
	}
	seen = nil
	fw, _ := w.Fstab()
	w.Accounts()
	w.HomeOf("root")
	if !slices.Equal(seen, []facts.Fact{facts.Fstab, facts.Accounts, facts.Accounts}) {
		t.Fatalf("reported %q, want fstab, accounts, accounts", seen)
	}
	if fb, _ := base.Fstab(); fb != fw || fb == nil {
		t.Fatal("the watched view parsed fstab again instead of sharing it")
	}
	base.OS() // the unwatched view reports to no one
	if len(seen) != 3 {
		t.Fatalf("the base view reported to the watcher: %q", seen)
	}
	seen = nil
	if l := w.Loader(); l == nil || l != base.Loader() {
		t.Fatal("the loader is not one model shared by the views")
	}
	if !slices.Equal(seen, []facts.Fact{facts.DynamicLoader}) {
		t.Fatalf("Loader reported %q, want only dynamic-loader", seen)
	}
	seen = nil
	if p := w.PAMStacks(); p == nil || p != base.PAMStacks() {
		t.Fatal("the PAM configuration is not one shared by the views")
	}
	if !slices.Equal(seen, []facts.Fact{facts.PAMStacks}) {
		t.Fatalf("PAMStacks reported %q, want only pam-stacks", seen)
	}
}

// TestWatchMachineSELinuxUnits: the accessors that had no Fact (the
// machine of the last boot, the SELinux mode and labels, enabled units)
// report one each, so the golden harness holds a check to declaring them.
func TestWatchMachineSELinuxUnits(t *testing.T) {
	root, err := sysroot.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var seen []facts.Fact
	w := facts.New(root, facts.Options{}).Watch(func(f facts.Fact) { seen = append(seen, f) })
	w.Machine()
	w.SELinuxMode()
	w.SELinuxLabels()
	w.UnitEnabled("sshd.service")
	want := []facts.Fact{facts.MachineInfo, facts.SELinuxConfig, facts.FileContexts, facts.EnabledUnits}
	if !slices.Equal(seen, want) {
		t.Fatalf("reported %q, want %q (SELinuxLabels reads the mode for itself, unreported)", seen, want)
	}
}
