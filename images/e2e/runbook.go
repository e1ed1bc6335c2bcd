package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"rescue/docs/schema"
	"rescue/images"
	"rescue/images/boot"
	"rescue/runbooks"
)

// The runbook rows: a fault goes through a runbook's helper step instead
// of a plain rescue fix. A helper VM (the Debian image with its own root
// UUID) boots with the broken disk attached as a second disk whose serial
// is a cloud disk id; the exact command text of the runbook, its {{ }}
// values filled in as the cloud would, runs there as root with no terminal
// and nothing on stdin, as the cloud agent runs it: it downloads the
// release from the host over qemu's forwarded port, checks its SHA-256 and
// runs rescue on disk:ID. The step's output comes back as the runbook
// would read it; then the repaired disk boots alone and must log in
// healthy with every login, and a scan of it on the host must no longer
// show the fault's finding. A rescue that does nothing fails every row:
// the finding, the step's exit code and findings left, the rescan and the
// boot all say so.
//
// A row costs a helper boot and a repaired boot (and a broken boot when
// the plain row of its fault is not in the same run), about four minutes
// under software emulation: only the rows marked Default run in the
// default sets ("all", "ci"); "full" and "runbooks" run every one, or
// name them.

// RunbookScenario is a fault repaired through a runbook.
type RunbookScenario struct {
	Name string
	// Runbook is the runbook file whose helper step runs.
	Runbook string
	// Scenario names the Scenario whose fault, paths and broken boot
	// this row reuses.
	Scenario string
	Flavor   images.Flavor
	// DiskID is the cloud's id of the disk; Serial what the hypervisor
	// shows the helper; Bus virtio or nvme.
	DiskID, Serial, Bus string
	// Scan runs the step in scan mode first (the disk must not change).
	Scan bool
	// Setup adds to the broken root what the row needs besides the fault.
	Setup func(root string, img *images.DebianImage) error
	// Note says what the row stands for, in the table.
	Note string
	// Default puts the row in the default sets ("all" and "ci"); the
	// others run by name or with "runbooks", to keep CI within budget.
	Default bool
}

// RunbookScenarios are the runbook rows.
func RunbookScenarios() []*RunbookScenario {
	return []*RunbookScenario{
		{
			Name: "runbook-oos-grub-root-uuid", Runbook: runbooks.OOSInstance, Scenario: "grub-root-uuid", Flavor: images.MBRExt4,
			// A 21-character id: virtio-blk hands the helper its first 20.
			DiskID: "d-bp1abcdef0123456789", Serial: "d-bp1abcdef0123456789", Scan: true, Default: true,
			Note: "OOS helper step, scan then fix; virtio serial cut to 20 characters; report uploaded through a stand-in ossutil",
		},
		{
			Name: "runbook-oos-lvm-profile", Runbook: runbooks.OOSInstance, Scenario: "profile-self-source", Flavor: images.LVMExt4,
			// Alibaba Cloud's own form: the id without "d-".
			DiskID: "d-bp1lvmroot000000001", Serial: "bp1lvmroot000000001",
			Note: "OOS helper step on an LVM root; serial without the d- prefix",
		},
		{
			Name: "runbook-ssm-pam-unix-deleted", Runbook: runbooks.SSMInstance, Scenario: "pam-unix-deleted", Flavor: images.MBRExt4,
			DiskID: "vol-0123456789abcdef0", Serial: "vol0123456789abcdef0", Bus: "nvme",
			Setup: keepAptCache("libpam-modules"),
			Note:  "SSM helper step on NVMe; pam_unix.so restored from the target's own apt cache (fetching from the target's repositories is the packages work)",
		},
	}
}

// keepAptCache puts the named packages' .debs from the image's package set
// into the target's /var/cache/apt/archives, as a machine that kept apt's
// cache has them.
func keepAptCache(names ...string) func(string, *images.DebianImage) error {
	return func(root string, img *images.DebianImage) error {
		dir := filepath.Join(root, "var/cache/apt/archives")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for _, n := range names {
			m, err := filepath.Glob(filepath.Join(img.Debs, n+"_*.deb"))
			if err != nil || len(m) != 1 {
				return fmt.Errorf("the .deb of %s in %s: %v %v", n, img.Debs, m, err)
			}
			data, err := os.ReadFile(m[0])
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(m[0])), data, 0o644); err != nil {
				return err
			}
		}
		return nil
	}
}

// LookupRunbooks returns the runbook rows a set names, and the names in
// the set that are not runbook rows (the plain scenarios' set). "all" and
// "ci" run the Default rows beside their plain scenarios, "full" every row;
// "runbooks" runs every runbook row and no plain scenario; a list runs the
// rows it names.
func LookupRunbooks(set string) (rows []*RunbookScenario, rest string) {
	all := RunbookScenarios()
	switch set {
	case "", "all", "ci":
		for _, r := range all {
			if r.Default {
				rows = append(rows, r)
			}
		}
		return rows, set
	case "full":
		return all, set
	case "none":
		return nil, set
	case "runbooks":
		return all, "none"
	}
	var others []string
	for _, n := range strings.Split(set, ",") {
		n = strings.TrimSpace(n)
		i := slices.IndexFunc(all, func(r *RunbookScenario) bool { return r.Name == n })
		if i >= 0 {
			rows = append(rows, all[i])
		} else {
			others = append(others, n)
		}
	}
	if len(others) == 0 {
		return rows, "none"
	}
	return rows, strings.Join(others, ",")
}

// helperDisk prepares what a row that runs rescue in the helper needs: the
// base image of flavor, the helper's own image, and a new work directory
// (the caller removes it) holding disk.img, a copy of the base for the row
// to break and repair.
func (s *Suite) helperDisk(ctx context.Context, flavor images.Flavor, name string) (base, helper *images.DebianImage, work, img string, err error) {
	if base, err = s.Env.Base(ctx, flavor); err != nil {
		return nil, nil, "", "", fmt.Errorf("base image: %w", err)
	}
	if helper, err = s.Env.Helper(ctx); err != nil {
		return nil, nil, "", "", fmt.Errorf("helper image: %w", err)
	}
	if work, err = os.MkdirTemp(s.Env.Work, name+"-"); err != nil {
		return nil, nil, "", "", err
	}
	img = filepath.Join(work, "disk.img")
	if err := copySparse(ctx, base.Path, img); err != nil {
		os.RemoveAll(work)
		return nil, nil, "", "", err
	}
	return base, helper, work, img, nil
}

// helperRootUUID is the root filesystem UUID of the helper image: not the
// broken disk's, so that the helper boots from its own disk.
const helperRootUUID = "22222222-3333-4444-8555-666666666666"

// helperVersion changes whenever the helper image must be rebuilt. 2:
// built by the BuildDebian of the proof harness (ordinary user, networkd).
const helperVersion = "2"

// helperBuild serialises Helper: the runbook rows run side by side, and
// two of them building the image into one .tmp file at once corrupted it
// (mke2fs: "Directory block checksum does not match", measured in a run
// of the LVM and SSM rows together).
var helperBuild sync.Mutex

// Helper returns the helper machine's image: the Debian boot root on MBR
// and ext4 with a root UUID of its own, cached under CacheDir.
func (e *Env) Helper(ctx context.Context) (*images.DebianImage, error) {
	helperBuild.Lock()
	defer helperBuild.Unlock()
	root, err := images.BuildBootRoot(ctx, e.release(), e.CacheDir)
	if err != nil {
		return nil, err
	}
	name := filepath.Join(e.CacheDir, fmt.Sprintf("helper-%s-v%s", root.Key, helperVersion))
	if data, err := os.ReadFile(name + ".json"); err == nil {
		var img images.DebianImage
		if json.Unmarshal(data, &img) == nil {
			if _, err := os.Stat(img.Path); err == nil {
				return &img, nil
			}
		}
	}
	t0 := time.Now()
	img, err := images.BuildDebian(ctx, images.DebianOptions{Root: root, Flavor: images.MBRExt4, RootUUID: helperRootUUID,
		Out: name + ".img.tmp", WorkDir: e.CacheDir})
	if err != nil {
		return nil, err
	}
	if err := os.Rename(img.Path, name+".img"); err != nil {
		return nil, err
	}
	img.Path = name + ".img"
	data, _ := json.MarshalIndent(img, "", "  ")
	if err := os.WriteFile(name+".json", data, 0o644); err != nil {
		return nil, err
	}
	e.logf("helper image %s built in %s", img.Path, time.Since(t0).Round(time.Second))
	return img, nil
}

// fileServer is the host's side of the helper's network: what the helper
// downloads (the release, the step, the agent) and what it uploads (the
// step's output, the report ossutil sends to OSS).
type fileServer struct {
	mu    sync.Mutex
	files map[string][]byte // GET
	got   map[string][]byte // PUT
	ln    net.Listener
}

func startFileServer() (*fileServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	fs := &fileServer{files: map[string][]byte{}, got: map[string][]byte{}, ln: ln}
	go http.Serve(ln, fs)
	return fs, nil
}

func (fs *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		data, ok := fs.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	case http.MethodPut:
		data, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fs.got[r.URL.Path] = data
	default:
		http.Error(w, "no", http.StatusMethodNotAllowed)
	}
}

// releaseServer starts the helper's file server with the release the
// helper downloads as /rescue (the rescue under test, a static
// linux/amd64 build as make release makes it), and returns the release's
// SHA-256, which the helper checks.
func (s *Suite) releaseServer() (*fileServer, string, error) {
	release, err := os.ReadFile(s.Env.Rescue)
	if err != nil {
		return nil, "", err
	}
	fsrv, err := startFileServer()
	if err != nil {
		return nil, "", err
	}
	fsrv.put("/rescue", release)
	return fsrv, sha256Hex(release), nil
}

func (fs *fileServer) put(path string, data []byte) {
	fs.mu.Lock()
	fs.files[path] = data
	fs.mu.Unlock()
}

func (fs *fileServer) received(path string) ([]byte, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, ok := fs.got[path]
	return d, ok
}

func (fs *fileServer) clearReceived() {
	fs.mu.Lock()
	fs.got = map[string][]byte{}
	fs.mu.Unlock()
}

// guestAddr is where the helper reaches the host's file server.
const guestAddr = "10.0.2.100:80"

// agentScript stands in for the cloud's agent on the helper: it fetches
// the step and runs it as Cloud Assistant and the SSM agent do: as root,
// in a session of its own without a terminal, with nothing on stdin and a
// plain environment, in root's home. Then it sends back stdout, stderr and
// the exit code. (The helper image has python3 but no curl or wget, so the
// step itself downloads with its python3 branch here.)
const agentScript = `#!/bin/sh
set -u
url=http://` + guestAddr + `
fetch() { python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$1" "$2"; }
send() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="PUT"))' "$1" "$2"; }
rm -rf /run/agent && mkdir -p /run/agent && cd /run/agent || exit 90
fetch "$url/step.sh" step.sh || exit 91
(cd /root && exec setsid -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 sh /run/agent/step.sh) </dev/null >stdout 2>stderr
echo $? >rc
for f in stdout stderr rc; do send "$url/result/$f" "$f" || exit 92; done
`

// ossutilStandIn is an ossutil64 for the helper that "uploads" to the
// host's file server: `ossutil64 --config-file CFG cp FILE oss://B/K`.
const ossutilStandIn = `#!/bin/sh
while [ "$#" -gt 0 ] && [ "$1" != cp ]; do shift; done
[ "$#" -eq 3 ] || exit 2
python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="PUT"))' "http://` + guestAddr + `/oss/${3#oss://}" "$2"
`

// stepValues are the values the cloud fills into a runbook's helper step.
func stepValues(runbook, mode, diskID string, memoryMB int, sha string) map[string]string {
	if runbook == runbooks.SSMInstance {
		return map[string]string{"Mode": mode, "DescribeRootVolume.VolumeId": diskID,
			"DescribeInstanceType.MemoryMiB": fmt.Sprint(memoryMB),
			"ReleaseUrl":                     "http://" + guestAddr + "/rescue", "ReleaseSha256": sha}
	}
	return map[string]string{"mode": mode, "getSystemDisk.diskId": diskID, "getInstance.memory": fmt.Sprint(memoryMB),
		"releaseUrl": "http://" + guestAddr + "/rescue", "releaseSha256": sha,
		"reportBucket": "rescue-e2e", "reportPrefix": "reports/", "ACS::RegionId": "cn-hangzhou", "helperRamRole": "RescueHelper"}
}

// stepEnvelope is the document the helper step prints
// (rescue.runbook/v1), as the runbook reads it.
type stepEnvelope struct {
	ExitCode       int             `json:"exit_code"`
	FindingsLeft   *int            `json:"findings_left"`
	ReportLocation string          `json:"report_location"`
	Report         json.RawMessage `json:"report"`
	Error          string          `json:"error"`
}

// stepRun is one run of the helper step.
type stepRun struct {
	rc       int
	stdout   []byte
	stderr   []byte
	envelope stepEnvelope
	uploaded []byte // the report the stand-in ossutil received
}

// runStep runs a runbook's helper step on the helper and checks what
// every run must show: exit status, nothing on stderr, and a document
// that matches rescue.runbook/v1.
func runStep(ctx context.Context, h *boot.Helper, fs *fileServer, rs *RunbookScenario, mode string, memoryMB int, sha string, timeout time.Duration, out string) (*stepRun, error) {
	cmd, err := runbooks.HelperCommand(rs.Runbook)
	if err != nil {
		return nil, err
	}
	text, err := runbooks.Fill(cmd, stepValues(rs.Runbook, mode, rs.DiskID, memoryMB, sha))
	if err != nil {
		return nil, err
	}
	fs.put("/step.sh", []byte(text))
	fs.clearReceived()
	con, rc, err := h.Run(ctx, "sh /run/agent.sh", timeout)
	if err != nil {
		return nil, fmt.Errorf("the agent: %w: %s", err, lastLine(con))
	}
	if rc != 0 {
		return nil, fmt.Errorf("the agent exited %d: %s", rc, lastLine(con))
	}
	r := &stepRun{}
	r.stdout, _ = fs.received("/result/stdout")
	r.stderr, _ = fs.received("/result/stderr")
	rcText, _ := fs.received("/result/rc")
	fmt.Sscan(string(rcText), &r.rc)
	_ = os.WriteFile(filepath.Join(out, mode+"-step.json"), r.stdout, 0o644)
	if len(r.stderr) > 0 {
		_ = os.WriteFile(filepath.Join(out, mode+"-step.stderr"), r.stderr, 0o644)
	}
	if err := json.Unmarshal(r.stdout, &r.envelope); err != nil {
		return r, fmt.Errorf("the step's output is not JSON: %v: %.200s", err, r.stdout)
	}
	if err := schema.ValidateAs("rescue.runbook/v1", r.stdout); err != nil {
		return r, fmt.Errorf("the step's output: %w", err)
	}
	if loc, ok := strings.CutPrefix(r.envelope.ReportLocation, "oss://"); ok {
		r.uploaded, _ = fs.received("/oss/" + loc)
		_ = os.WriteFile(filepath.Join(out, mode+"-report.json"), r.uploaded, 0o644)
	}
	return r, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// RunRunbook runs one runbook row. inSet says whether the plain scenario
// of the same fault runs in this set (then its row has booted the broken
// image already, and this one does not again).
func (s *Suite) RunRunbook(ctx context.Context, rs *RunbookScenario, inSet bool) (row *Row) {
	t0 := time.Now()
	var sc *Scenario
	for _, x := range Scenarios() {
		if x.Name == rs.Scenario {
			sc = x
		}
	}
	row = &Row{Scenario: rs.Name, Release: s.Env.releaseName(), Kind: "runbook", Fault: rs.Scenario + " through " + rs.Runbook + " (" + rs.Note + ")", Status: "PASS"}
	out := filepath.Join(s.Env.Out, rs.Name)
	defer func() {
		row.Seconds = time.Since(t0).Seconds()
		writeJSON(filepath.Join(out, "row.json"), row)
	}()
	errorf, rescueFailed := row.errorf, row.rescueFailed
	if sc == nil {
		return errorf("no scenario %s", rs.Scenario)
	}
	broken, _ := sc.brokenOn(s.Env.release())
	row.BrokenWant = broken.String()
	row.FixExitWant = sc.fixExit()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return errorf("%v", err)
	}
	base, helperImg, work, img, err := s.helperDisk(ctx, rs.Flavor, rs.Name)
	if err != nil {
		return errorf("%v", err)
	}
	defer os.RemoveAll(work)
	if err := s.mountedOn(ctx, base, img, work, func(dir string) error {
		if err := sc.Break(dir, base); err != nil {
			return err
		}
		if rs.Setup != nil {
			return rs.Setup(dir, base)
		}
		return nil
	}); err != nil {
		return errorf("injecting the fault: %v", err)
	}

	// The fault's own finding, from a scan of the broken disk on the
	// host: the id the steps' reports and the rescan are judged by. A
	// miss fails the row but the steps still run, so that the table
	// shows what the runbook made of it.
	plan, code, err := s.rescueJSON(ctx, base, img, work, filepath.Join(out, "scan.json"), s.scanArgs()...)
	if err != nil {
		rescueFailed(err)
	} else {
		row.Findings = plan.ids()
		id, why := findingOf(sc, plan)
		if id == "" {
			row.fail("%s", why)
		}
		row.Finding = id
		if code != 4 {
			row.fail("rescue scan of the broken disk exited %d, want 4", code)
		}
	}
	if row.Status == "ERROR" {
		return row
	}

	switch {
	case inSet:
		row.BrokenWant = "(booted by row " + sc.Name + ") " + row.BrokenWant
	default:
		res, err := s.bootImage(ctx, base, img, filepath.Join(out, "broken-serial.log"), sc.SSH)
		if err != nil {
			return errorf("booting the broken image: %v", err)
		}
		row.Broken = res
		row.booted(res)
		if ok, why := broken.Met(res); !ok {
			row.fail("broken boot: %s", why)
		}
	}

	fsrv, releaseSum, err := s.releaseServer()
	if err != nil {
		return errorf("%v", err)
	}
	defer fsrv.ln.Close()
	fsrv.put("/agent.sh", []byte(agentScript))
	fsrv.put("/ossutil64", []byte(ossutilStandIn))

	mem := s.memoryMB()
	var h *boot.Helper
	select {
	case s.bootSem <- struct{}{}:
	case <-ctx.Done():
		return errorf("%v", ctx.Err())
	}
	func() {
		defer func() { <-s.bootSem }()
		o := s.Env.Boot
		o.Image, o.Snapshot, o.SerialLog, o.UEFI = helperImg.Path, true, filepath.Join(out, "helper-serial.log"), false
		o.User, o.Password = "root", images.RootPassword
		h, err = boot.StartHelper(ctx, boot.HelperOptions{Options: o, Guest: guestAddr, Host: fsrv.ln.Addr().String(),
			Disks: []boot.Disk{{Image: img, Serial: rs.Serial, Bus: rs.Bus}}})
		if err != nil {
			return
		}
		defer func() {
			h.Close()
			row.BootCPU += h.CPUSeconds
		}()
		err = s.helperSteps(ctx, h, fsrv, rs, sc, row, img, mem, releaseSum, out)
	}()
	if err != nil {
		return errorf("helper: %v", err)
	}
	if row.Status != "PASS" {
		return row
	}

	// On the host: the fault's finding is gone from a fresh scan.
	after, code, err := s.rescueJSON(ctx, base, img, work, filepath.Join(out, "rescan.json"), s.scanArgs()...)
	row.ScanExit = code
	if err != nil {
		return rescueFailed(err)
	}
	row.Rescanned, row.Gone = true, !has(after, row.Finding)
	row.failAll(judgeRescan(row.Finding, after, code, sc.scanExit()))

	// The repaired disk boots alone, healthy, every login answering.
	res, err := s.bootImage(ctx, base, img, filepath.Join(out, "repaired-serial.log"), sc.SSH)
	if err != nil {
		return errorf("booting the repaired image: %v", err)
	}
	row.judgeRepaired(res, sc, base)
	row.Undo = "— (a runbook keeps a snapshot instead)"
	return row
}

// helperSteps runs the row's helper steps on a booted helper.
func (s *Suite) helperSteps(ctx context.Context, h *boot.Helper, fsrv *fileServer, rs *RunbookScenario, sc *Scenario, row *Row, img string, mem int, sha string, out string) error {
	timeout := time.Duration(float64(20*time.Minute) * max(s.Env.Boot.Patience, 1))
	// The helper's network (a cloud helper has one), the agent, and for
	// OOS an ossutil64 that uploads to the host.
	for _, line := range []string{
		`dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1); ip link set "$dev" up && { ip -4 addr show dev "$dev" | grep -q inet || ip addr add 10.0.2.15/24 dev "$dev"; }`,
		`python3 -c 'import urllib.request as u; u.urlretrieve("http://` + guestAddr + `/agent.sh", "/run/agent.sh")'`,
		`python3 -c 'import urllib.request as u; u.urlretrieve("http://` + guestAddr + `/ossutil64", "/usr/local/bin/ossutil64")' && chmod 755 /usr/local/bin/ossutil64`,
		`ls -l /dev/disk/by-id/ >/dev/null`,
	} {
		con, rc, err := h.Run(ctx, line, 5*time.Minute)
		if err != nil || rc != 0 {
			return fmt.Errorf("preparing the helper (%s): rc %d, %v: %s", line, rc, err, lastLine(con))
		}
	}
	byid, _, _ := h.Run(ctx, "ls /dev/disk/by-id/", time.Minute)
	row.note("helper sees /dev/disk/by-id: %s", strings.Join(strings.Fields(strings.TrimSpace(byIDList(byid))), " "))

	if rs.Scan {
		before, err := fileHash(img)
		if err != nil {
			return err
		}
		r, err := runStep(ctx, h, fsrv, rs, "scan", mem, sha, timeout, out)
		if err != nil {
			return fmt.Errorf("scan step: %w", err)
		}
		after, err := fileHash(img)
		if err != nil {
			return err
		}
		row.failAll(judgeScanStep(r))
		if before != after {
			row.fail("the scan step changed the disk")
		}
		if rep := s.stepReport(row, r, "rescue.report/v1"); rep != nil && row.Finding != "" && !has(rep, row.Finding) {
			row.fail("the scan step's report has no %s", row.Finding)
		}
	}
	r, err := runStep(ctx, h, fsrv, rs, "fix", mem, sha, timeout, out)
	if err != nil {
		return fmt.Errorf("fix step: %w", err)
	}
	row.FixExit = r.envelope.ExitCode
	row.failAll(judgeFixStep(r, row.FixExitWant))
	if rep := s.stepReport(row, r, "rescue.fix/v1"); rep != nil {
		if rep.Result != nil {
			for _, it := range rep.Result.Items {
				if it.Status == "applied" {
					row.Applied++
				}
			}
		}
		if row.Finding != "" {
			row.failAll(judgeFix(row.Finding, rep, r.envelope.ExitCode, row.FixExitWant))
		}
	}
	return nil
}

// judgeScanStep checks a scan step as the runbook reads it: the step
// succeeded (exit 0), wrote nothing to stderr, and rescue found the disk
// broken (exit 4, findings_left above 0). It returns why not.
func judgeScanStep(r *stepRun) []string {
	var bad []string
	if r.rc != 0 {
		bad = append(bad, fmt.Sprintf("scan step exited %d: %s", r.rc, r.envelope.Error))
	}
	if len(r.stderr) > 0 {
		bad = append(bad, fmt.Sprintf("scan step wrote to stderr: %.200s", r.stderr))
	}
	if r.envelope.ExitCode != 4 || r.envelope.FindingsLeft == nil || *r.envelope.FindingsLeft == 0 {
		bad = append(bad, fmt.Sprintf("scan step: rescue exit %d, findings left %s: the fault was not found",
			r.envelope.ExitCode, count(r.envelope.FindingsLeft)))
	}
	return bad
}

// judgeFixStep checks a fix step as the runbook reads it: the step
// succeeded, wrote nothing to stderr, rescue exited want, and when want is
// 1 (everything repaired) no finding is left.
func judgeFixStep(r *stepRun, want int) []string {
	var bad []string
	if r.rc != 0 {
		bad = append(bad, fmt.Sprintf("fix step exited %d: rescue exit %d: %s", r.rc, r.envelope.ExitCode, r.envelope.Error))
	}
	if len(r.stderr) > 0 {
		bad = append(bad, fmt.Sprintf("fix step wrote to stderr: %.200s", r.stderr))
	}
	if r.envelope.ExitCode != want {
		bad = append(bad, fmt.Sprintf("fix step: rescue exit %d, want %d", r.envelope.ExitCode, want))
	}
	if want == 1 && (r.envelope.FindingsLeft == nil || *r.envelope.FindingsLeft != 0) {
		bad = append(bad, fmt.Sprintf("fix step: findings left %s, want 0", count(r.envelope.FindingsLeft)))
	}
	return bad
}

// count shows a findings_left that may be null.
func count(n *int) string {
	if n == nil {
		return "null"
	}
	return fmt.Sprint(*n)
}

// stepReport returns the step's full report where one came back (inline
// or through the stand-in ossutil), validated against its schema; nil,
// with a note, when it stayed on the helper.
func (s *Suite) stepReport(row *Row, r *stepRun, name string) *fixReport {
	full := r.uploaded
	if len(full) == 0 && len(r.envelope.Report) > 0 && string(r.envelope.Report) != "null" {
		full = r.envelope.Report
	}
	if len(full) == 0 {
		row.note("%s: the report stayed on the helper (more than the step's output carries)", name)
		return nil
	}
	if err := schema.ValidateAs(name, full); err != nil {
		row.fail("the step's report: %v", err)
		return nil
	}
	var rep fixReport
	if err := json.Unmarshal(full, &rep); err != nil {
		row.fail("the step's report: %v", err)
		return nil
	}
	return &rep
}

// byIDList keeps the link names of an ls of /dev/disk/by-id.
func byIDList(console string) string {
	var names []string
	for _, f := range strings.Fields(console) {
		if strings.Contains(f, "-") && !strings.Contains(f, "HELPER") && !strings.Contains(f, "$") && !strings.Contains(f, "/") {
			names = append(names, f)
		}
	}
	return strings.Join(names, " ")
}

// RunRunbooks runs runbook rows, Parallel at a time; plain are the names
// of the plain scenarios in the same run.
func (s *Suite) RunRunbooks(ctx context.Context, list []*RunbookScenario, plain []string, done func(*Row)) []*Row {
	rows := make([]*Row, len(list))
	sem := make(chan struct{}, s.Env.Parallel)
	var wg sync.WaitGroup
	for i, rs := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rows[i] = s.RunRunbook(ctx, rs, slices.Contains(plain, rs.Scenario))
			if done != nil {
				done(rows[i])
			}
		}()
	}
	wg.Wait()
	return rows
}
