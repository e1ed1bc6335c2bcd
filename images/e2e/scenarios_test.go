package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/images"
	"rescue/images/boot"
)

const (
	kNew = "6.1.0-56-amd64"
	kOld = "6.1.0-47-amd64"
)

// fakeRoot writes the files the faults touch, shaped like a Debian 12 root.
func fakeRoot(t *testing.T) (string, *images.DebianImage) {
	t.Helper()
	img := &images.DebianImage{RootUUID: images.DefaultRootUUID, FSType: "ext4", Kernels: []string{kNew, kOld}}
	root := t.TempDir()
	files := map[string]string{
		"etc/fstab":                                     "UUID=" + img.RootUUID + " / ext4 errors=remount-ro 0 1\n",
		"boot/grub/grub.cfg":                            "menuentry 'Debian GNU/Linux' {\n\tlinux\t/boot/vmlinuz-" + kNew + " root=UUID=" + img.RootUUID + " ro console=ttyS0\n\tinitrd\t/boot/initrd.img-" + kNew + "\n}\n",
		"etc/ssh/sshd_config":                           "Include /etc/ssh/sshd_config.d/*.conf\n",
		"etc/ssh/ssh_host_key":                          "key\n",
		"usr/lib/x86_64-linux-gnu/libnss_files.so.2":    "\x7fELF",
		"usr/lib/x86_64-linux-gnu/security/pam_unix.so": "\x7fELF",
		"etc/pam.d/login":                               "@include common-auth\n",
		"usr/bin/login":                                 "\x7fELF login",
		"usr/bin/bash":                                  "\x7fELF bash",
		"usr/lib/systemd/systemd":                       "\x7fELF systemd",
		"etc/profile":                                   "PATH=/usr/bin:/bin\n",
		"etc/security/limits.conf":                      "# /etc/security/limits.conf\n",
		"etc/login.defs":                                "ERASECHAR\t0177\nKILLCHAR\t025\n",
		"etc/passwd":                                    "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
		"boot/initrd.img-" + kNew:                       "initrd new",
		"boot/initrd.img-" + kOld:                       "initrd old",
		"etc/sysctl.conf":                               "# sysctl\n",
		"etc/ld.so.conf":                                "include /etc/ld.so.conf.d/*.conf\n",
		"etc/selinux/.keep":                             "",
		"usr/lib/x86_64-linux-gnu/libc.so":              "",
	}
	for p, c := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), []byte(c), 0o644))
	}
	require.NoError(t, os.Chmod(filepath.Join(root, "etc/ssh/ssh_host_key"), 0o600))
	require.NoError(t, os.Chmod(root, 0o755))
	return root, img
}

// TestFaultsLandWhereTheySay injects each fault into a fake Debian root and
// checks that it changes something, and only in the paths on which the
// scenario expects rescue to report (plus new directories).
func TestFaultsLandWhereTheySay(t *testing.T) {
	for _, sc := range Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			root, img := fakeRoot(t)
			all := map[string]bool{}
			before, err := takeManifest(root, nil)
			require.NoError(t, err)
			for p := range before {
				all[p] = true
			}
			before, err = takeManifest(root, all)
			require.NoError(t, err)
			require.NoError(t, sc.Break(root, img))
			after, err := takeManifest(root, all)
			require.NoError(t, err)
			d := diffManifests(before, after)
			require.NotEmpty(t, d, "the fault changed nothing")
			for _, line := range d {
				p, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(line, "added "), "missing "), ":")
				if strings.HasPrefix(line, "added ") && after[p].Type.IsDir() {
					continue
				}
				in := false
				for _, want := range sc.Paths {
					if p == want || strings.HasPrefix(p, strings.TrimSuffix(want, "/")+"/") {
						in = true
					}
				}
				assert.True(t, in, "%s changed %q, outside %v", sc.Name, line, sc.Paths)
			}
		})
	}
}

func TestFaultDetails(t *testing.T) {
	root, img := fakeRoot(t)
	for _, name := range []string{"selinux-no-policy", "passwd-crlf", "initramfs-deleted", "chmod-777-etc-ssh"} {
		sc, err := Lookup(name)
		require.NoError(t, err)
		require.NoError(t, sc[0].Break(root, img))
	}
	cfg, err := os.ReadFile(filepath.Join(root, "boot/grub/grub.cfg"))
	require.NoError(t, err)
	assert.Contains(t, string(cfg), "console=ttyS0 security=selinux selinux=1\n")
	passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	require.NoError(t, err)
	assert.Equal(t, 2, bytes.Count(passwd, []byte("\r\n")))
	_, err = os.Stat(filepath.Join(root, "boot/initrd.img-"+kNew))
	assert.True(t, os.IsNotExist(err), "the default kernel's initramfs is gone")
	_, err = os.Stat(filepath.Join(root, "boot/initrd.img-"+kOld))
	assert.NoError(t, err, "the older kernel's initramfs stays")
	fi, err := os.Stat(filepath.Join(root, "etc/ssh/ssh_host_key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o777), fi.Mode().Perm())

	one := &images.DebianImage{RootUUID: img.RootUUID, Kernels: []string{kNew}}
	sc, _ := Lookup("initramfs-deleted")
	assert.ErrorContains(t, sc[0].Break(t.TempDir(), one), "needs an older one")
}

func TestLookup(t *testing.T) {
	all, err := Lookup("all")
	require.NoError(t, err)
	assert.Len(t, all, 22)
	ci, err := Lookup("ci")
	require.NoError(t, err)
	assert.NotEmpty(t, ci)
	assert.Less(t, len(ci), len(all))
	names := map[string]bool{}
	for _, s := range all {
		assert.False(t, names[s.Name], "duplicate %s", s.Name)
		names[s.Name] = true
		assert.NotEmpty(t, s.Paths, s.Name)
		if s.Static {
			assert.Equal(t, boot.LoggedIn, s.Broken.Class, "%s: a static fault has no symptom", s.Name)
		}
	}
	two, err := Lookup("zero-bash, grub-cfg-deleted")
	require.NoError(t, err)
	assert.Equal(t, "grub-cfg-deleted", two[1].Name)
	_, err = Lookup("nope")
	assert.ErrorContains(t, err, "unknown scenario")
}

func TestDiffManifests(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "f")
	require.NoError(t, os.WriteFile(p, []byte("one"), 0o644))
	hash := map[string]bool{"/f": true}
	before, err := takeManifest(root, hash)
	require.NoError(t, err)

	// Same size, same mtime, different content: only the hash sees it.
	mt := time.Unix(1700000000, 0)
	require.NoError(t, os.Chtimes(p, mt, mt))
	before, err = takeManifest(root, hash)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte("two"), 0o644))
	require.NoError(t, os.Chmod(p, 0o600))
	require.NoError(t, os.Chtimes(p, mt, mt))
	require.NoError(t, os.Mkdir(filepath.Join(root, "new"), 0o755))
	after, err := takeManifest(root, hash)
	require.NoError(t, err)
	d := diffManifests(before, after)
	assert.Equal(t, []string{"/f: mode 644->600, content", "added /new"}, d)

	// The journal directory is rescue's own and is left out.
	require.NoError(t, os.MkdirAll(filepath.Join(root, "var/lib/rescue/x"), 0o755))
	after2, err := takeManifest(root, hash)
	require.NoError(t, err)
	for k := range after2 {
		assert.False(t, strings.HasPrefix(k, journalDir), k)
	}
	assert.Equal(t, []string{"added /var", "added /var/lib"}, diffManifests(after, after2), "only /var and /var/lib are new")
}

func TestTable(t *testing.T) {
	yes := true
	tb := &Table{Set: "ci", Parallel: 2, CPUs: 1, MemoryMB: 1024, Seconds: 300, Rows: []*Row{
		{Scenario: "grub-root-uuid", Fault: "grub.cfg root=UUID wrong", Status: "PASS", BrokenWant: "INITRAMFS_SHELL",
			Broken:   &boot.Result{Class: boot.InitramfsShell, Why: "ALERT! UUID=deadbeef does not exist"},
			Repaired: &boot.Result{Class: boot.LoggedIn, State: "running", RootWritable: &yes},
			Findings: []string{"grub/root-uuid:/boot/grub/grub.cfg"}, Applied: 1, Undo: "identical", Seconds: 95},
		{Scenario: "zero-bash", Fault: "zero-size /usr/bin/bash", Status: "NO_CHECK", BrokenWant: "NO_SHELL",
			Broken: &boot.Result{Class: boot.NoShell}, Notes: []string{"no check yet: rescue reports nothing on /usr/bin/bash"}},
	}}
	var md bytes.Buffer
	require.NoError(t, tb.WriteMarkdown(&md))
	s := md.String()
	assert.Contains(t, s, "| grub-root-uuid | grub.cfg root=UUID wrong | INITRAMFS_SHELL | INITRAMFS_SHELL: ALERT! UUID=deadbeef does not exist | grub/root-uuid:/boot/grub/grub.cfg (1 applied) | LOGGED_IN | identical | PASS | 95s |")
	assert.Contains(t, s, "2 row(s): 1 pass, 0 fail, 1 no check yet, 0 error; 3 boot(s)")
	assert.Contains(t, s, "- zero-bash: no check yet")
	var js bytes.Buffer
	require.NoError(t, tb.WriteJSON(&js))
	var back Table
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	assert.Equal(t, TableSchema, back.Schema)
	assert.Equal(t, boot.InitramfsShell, back.Rows[0].Broken.Class)
}

func TestRotation(t *testing.T) {
	ci, _ := Lookup("ci")
	all := Scenarios()
	rest := len(all) - len(ci)
	seen := map[string]bool{}
	for day := 20000; day < 20000+(rest+2)/3; day++ {
		r := Rotation(day, 3)
		require.Len(t, r, 3)
		for _, s := range r {
			assert.False(t, s.CI, "%s is in the fixed subset already", s.Name)
			seen[s.Name] = true
		}
	}
	assert.Len(t, seen, rest, "every scenario outside the subset comes round within ceil(rest/3) days")
	names := func(l []*Scenario) (n []string) {
		for _, s := range l {
			n = append(n, s.Name)
		}
		return n
	}
	assert.Equal(t, names(Rotation(20001, 3)), names(Rotation(20001, 3)), "a day's choice is stable")
	assert.NotEqual(t, names(Rotation(20001, 3)), names(Rotation(20002, 3)), "and changes the next day")
	assert.Len(t, Rotation(1, 100), rest)
}
