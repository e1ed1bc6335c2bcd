package runbooks

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"rescue/checks"
	"rescue/docs/schema"
	"rescue/parse/osrelease"
	"rescue/report"
)

var update = flag.Bool("update", false, "rewrite the helper step's common part in the runbooks from helper.sh")

// embedBody replaces the common part of the helper step in a runbook's
// text (from the marker to the end of its YAML block) with body.
func embedBody(text, body string) (string, error) {
	lines := strings.Split(text, "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == HelperBodyMarker {
			start = i
			break
		}
	}
	if start < 0 {
		return "", fmt.Errorf("no %q", HelperBodyMarker)
	}
	indent := lines[start][:len(lines[start])-len(strings.TrimLeft(lines[start], " "))]
	end := start + 1
	for end < len(lines) && (strings.TrimSpace(lines[end]) == "" || strings.HasPrefix(lines[end], indent)) {
		end++
	}
	// Blank lines before the next key belong to the YAML, not the block.
	for end > start+1 && strings.TrimSpace(lines[end-1]) == "" {
		end--
	}
	var repl []string
	for _, l := range strings.Split(body, "\n") {
		if l == "" {
			repl = append(repl, "")
		} else {
			repl = append(repl, indent+l)
		}
	}
	out := append(append(append([]string{}, lines[:start]...), repl...), lines[end:]...)
	return strings.Join(out, "\n"), nil
}

// TestHelperBodyIsShared: every runbook's helper step ends with exactly
// helper.sh, so that what the e2e suite proves for one holds for all.
// go test ./runbooks -update writes helper.sh into them.
func TestHelperBodyIsShared(t *testing.T) {
	for _, name := range []string{OOSInstance, SSMInstance} {
		if *update {
			data, err := Read(name)
			if err != nil {
				t.Fatal(err)
			}
			text, err := embedBody(string(data), HelperBody())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		cmd, err := HelperCommand(name)
		if err != nil {
			t.Fatal(err)
		}
		_, body, ok := strings.Cut(cmd, HelperBodyMarker+"\n")
		if !ok {
			t.Errorf("%s: the helper step has no %q", name, HelperBodyMarker)
			continue
		}
		if want := strings.TrimPrefix(HelperBody(), HelperBodyMarker+"\n"); body != want {
			t.Errorf("%s: the helper step differs from helper.sh: run go test ./runbooks -update", name)
		}
		if !strings.HasPrefix(cmd, "#!/bin/sh\n") {
			t.Errorf("%s: the helper step does not start with #!/bin/sh", name)
		}
	}
}

// TestHelperReferencesAreQuoted: the values the cloud fills into the
// helper step land only in single-quoted assignments, and each is a
// parameter whose pattern or allowed values keep quotes out, or an output
// the cloud itself produces (a disk id, a memory size).
func TestHelperReferencesAreQuoted(t *testing.T) {
	assign := regexp.MustCompile(`^[a-z_0-9]+='\{\{ [A-Za-z0-9.:]+ \}\}'$`)
	safeOutputs := map[string]bool{"getSystemDisk.diskId": true, "getInstance.memory": true,
		"DescribeRootVolume.VolumeId": true, "DescribeInstanceType.MemoryMiB": true, "ACS::RegionId": true}
	for _, name := range []string{OOSInstance, SSMInstance} {
		doc := mustParse(t, name)
		params := obj(doc["Parameters"])
		if params == nil {
			params = obj(doc["parameters"])
		}
		cmd, err := HelperCommand(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(cmd, "\n") {
			refs := References(line)
			if len(refs) == 0 {
				continue
			}
			if !assign.MatchString(line) {
				t.Errorf("%s: %q: a reference outside a single-quoted assignment", name, line)
				continue
			}
			ref := refs[0]
			if safeOutputs[ref] {
				continue
			}
			p := obj(params[ref])
			if p == nil {
				t.Errorf("%s: %q: %s is neither a parameter nor a known output", name, line, ref)
				continue
			}
			pat, _ := p["AllowedPattern"].(string)
			if pat == "" {
				pat, _ = p["allowedPattern"].(string)
			}
			allowed := list(p["AllowedValues"])
			if allowed == nil {
				allowed = list(p["allowedValues"])
			}
			switch {
			case allowed != nil:
				for _, v := range allowed {
					if strings.ContainsAny(fmt.Sprint(v), "'\n") {
						t.Errorf("%s: %s allows %q", name, ref, v)
					}
				}
			case pat != "":
				if regexp.MustCompile(pat).MatchString("x'y") {
					t.Errorf("%s: the pattern of %s lets a quote through", name, ref)
				}
			default:
				t.Errorf("%s: %s reaches the helper step without a pattern or allowed values", name, ref)
			}
		}
	}
}

// step is one run of a runbook's helper step on this machine, with a
// stand-in for the rescue release.
type step struct {
	t       *testing.T
	dir     string
	release []byte // what the release URL serves
	// The stand-in rescue prints report and exits with code.
	report string
	code   int
	stderr string
	// ossutil, when set, is put first in PATH as ossutil64.
	ossutil bool
}

type stepResult struct {
	exit     int
	stdout   string
	stderr   string
	envelope map[string]any
	args     string // what the stand-in rescue was called with ("" when not)
}

// standIn writes a rescue stand-in: it records its arguments and prints a
// prepared report.
func (s *step) standIn() []byte {
	must(s.t, os.WriteFile(filepath.Join(s.dir, "report.json"), []byte(s.report), 0o644))
	must(s.t, os.WriteFile(filepath.Join(s.dir, "rescue.err"), []byte(s.stderr), 0o644))
	return []byte(fmt.Sprintf("#!/bin/sh\necho \"$@\" >%s/args\ncat %s/report.json\ncat %s/rescue.err >&2\nexit %d\n",
		s.dir, s.dir, s.dir, s.code))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// run fills in the runbook's helper step as the cloud would and runs it
// with sh, without a terminal and with nothing on stdin.
func (s *step) run(name string, values map[string]string) stepResult {
	t := s.t
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rescue" {
			http.NotFound(w, r)
			return
		}
		w.Write(s.release)
	}))
	defer srv.Close()
	for k, v := range values {
		values[k] = strings.ReplaceAll(v, "SERVER", srv.URL)
	}
	cmd, err := HelperCommand(name)
	must(t, err)
	text, err := Fill(cmd, values)
	must(t, err)
	script := filepath.Join(s.dir, "step.sh")
	must(t, os.WriteFile(script, []byte(text), 0o700))
	path := "/usr/bin:/bin"
	if s.ossutil {
		bin := filepath.Join(s.dir, "bin")
		must(t, os.MkdirAll(bin, 0o755))
		must(t, os.WriteFile(filepath.Join(bin, "ossutil64"), []byte(fmt.Sprintf(
			"#!/bin/sh\necho \"$@\" >%s/ossutil.args\nwhile [ \"$1\" != cp ]; do shift; done\ncp \"$2\" %s/uploaded\n", s.dir, s.dir)), 0o755))
		path = bin + ":" + path
	}
	c := exec.Command("sh", script)
	// Anything but the local server goes to a closed local port: the
	// step must never reach out of this machine in a test.
	c.Env = []string{"PATH=" + path, "HOME=/root", "http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
		"no_proxy=127.0.0.1", "NO_PROXY=127.0.0.1"}
	c.Stdin = nil
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err = c.Run()
	res := stepResult{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.exit = ee.ExitCode()
	} else {
		must(t, err)
	}
	if err := json.Unmarshal(out.Bytes(), &res.envelope); err != nil {
		t.Fatalf("the step's output is not JSON: %v\n%s", err, out.String())
	}
	if err := schema.ValidateAs("rescue.runbook/v1", out.Bytes()); err != nil {
		t.Errorf("the step's output does not match rescue.runbook/v1: %v\n%s", err, out.String())
	}
	if data, err := os.ReadFile(filepath.Join(s.dir, "args")); err == nil {
		res.args = strings.TrimSpace(string(data))
	}
	return res
}

// realReport is a scan report as rescue prints it, with n findings.
func realReport(t *testing.T, n int, pad int) string {
	var fs []checks.Finding
	for i := 0; i < n; i++ {
		fs = append(fs, checks.Finding{ID: fmt.Sprintf("fstab/x:/etc/fstab#/%d", i), Check: "fstab", Kind: "x",
			Severity: checks.Critical, Path: "/etc/fstab", Message: "a finding" + strings.Repeat(".", pad)})
	}
	r := report.New(report.Tool{Name: "rescue", Version: "test"}, report.Target{Path: "/run/rescue/target-1"}, fakeOS(), nil,
		&checks.Result{Findings: fs, Checks: []checks.Status{{Name: "fstab", Findings: n}}})
	var b bytes.Buffer
	must(t, r.WriteJSON(&b))
	return b.String()
}

func oosValues(mode, sha string) map[string]string {
	return map[string]string{
		"mode": mode, "getSystemDisk.diskId": "d-bp1abcdef0123456789", "getInstance.memory": "2048",
		"releaseUrl": "SERVER/rescue", "releaseSha256": sha, "reportBucket": "", "reportPrefix": "rescue/",
		"ACS::RegionId": "cn-hangzhou", "helperRamRole": "",
	}
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestHelperStepOnThisMachine(t *testing.T) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("no sha256sum here")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		if _, err := exec.LookPath("wget"); err != nil {
			t.Skip("neither curl nor wget here")
		}
	}
	t.Run("scan with findings", func(t *testing.T) {
		s := &step{t: t, dir: t.TempDir(), report: realReport(t, 1, 0), code: 4, stderr: "time=… level=WARN msg=\"a log line\"\n"}
		s.release = s.standIn()
		r := s.run(OOSInstance, oosValues("scan", strings.ToUpper(sum(s.release))))
		if r.exit != 0 || r.stderr != "" {
			t.Errorf("exit %d, stderr %q", r.exit, r.stderr)
		}
		if r.args != "scan --json --memory 2048M disk:d-bp1abcdef0123456789" {
			t.Errorf("rescue was run as %q", r.args)
		}
		if r.envelope["exit_code"] != 4.0 || r.envelope["findings_left"] != 1.0 || r.envelope["mode"] != "scan" {
			t.Errorf("envelope: %v", r.envelope)
		}
		if obj(r.envelope["report"])["schema"] != "rescue.report/v1" {
			t.Errorf("the report is not inline: %v", r.envelope["report"])
		}
		if !strings.Contains(fmt.Sprint(r.envelope["stderr"]), "a log line") {
			t.Errorf("rescue's log is not in the envelope: %v", r.envelope["stderr"])
		}
	})
	for _, tc := range []struct {
		mode     string
		code     int
		wantExit int
	}{{"fix", 1, 0}, {"fix", 0, 0}, {"fix", 4, 4}, {"scan", 0, 0}, {"scan", 8, 8}, {"fix", 8, 8}, {"scan", 2, 8}} {
		t.Run(fmt.Sprintf("%s exit %d", tc.mode, tc.code), func(t *testing.T) {
			s := &step{t: t, dir: t.TempDir(), code: tc.code}
			if tc.code < 8 {
				s.report = realReport(t, 0, 0)
			} else {
				s.stderr = "rescue: error: disk:d-bp1abcdef0123456789: no disk has that id (…)\n"
			}
			s.release = s.standIn()
			r := s.run(OOSInstance, oosValues(tc.mode, sum(s.release)))
			if r.exit != tc.wantExit {
				t.Errorf("step exit %d, want %d", r.exit, tc.wantExit)
			}
			if tc.mode == "fix" && !strings.HasPrefix(r.args, "fix --apply --allow-fsck --json ") {
				t.Errorf("rescue was run as %q", r.args)
			}
			wantCode := float64(tc.code)
			if tc.code == 2 {
				wantCode = 8
			}
			if r.envelope["exit_code"] != wantCode {
				t.Errorf("envelope exit_code %v, want %v", r.envelope["exit_code"], wantCode)
			}
			if tc.code >= 8 {
				if r.envelope["findings_left"] != nil || r.envelope["report"] != nil {
					t.Errorf("a failed run has a report: %v", r.envelope)
				}
				if tc.code == 8 && !strings.Contains(fmt.Sprint(r.envelope["error"]), "no disk has that id") {
					t.Errorf("the error does not say why: %v", r.envelope["error"])
				}
			}
		})
	}
	t.Run("checksum mismatch", func(t *testing.T) {
		s := &step{t: t, dir: t.TempDir(), report: realReport(t, 0, 0)}
		s.release = s.standIn()
		r := s.run(OOSInstance, oosValues("fix", sum([]byte("another build"))))
		if r.exit != 8 || r.args != "" {
			t.Errorf("exit %d; rescue ran as %q", r.exit, r.args)
		}
		if !strings.Contains(fmt.Sprint(r.envelope["error"]), "not running it") {
			t.Errorf("error: %v", r.envelope["error"])
		}
	})
	t.Run("download fails", func(t *testing.T) {
		s := &step{t: t, dir: t.TempDir(), report: realReport(t, 0, 0)}
		s.release = s.standIn()
		v := oosValues("scan", sum(s.release))
		v["releaseUrl"] = "SERVER/nothing-here"
		r := s.run(OOSInstance, v)
		if r.exit != 8 || r.args != "" || !strings.Contains(fmt.Sprint(r.envelope["error"]), "downloading") {
			t.Errorf("exit %d, args %q, envelope %v", r.exit, r.args, r.envelope)
		}
	})
	t.Run("a disk id that is not one", func(t *testing.T) {
		s := &step{t: t, dir: t.TempDir(), report: realReport(t, 0, 0)}
		s.release = s.standIn()
		v := oosValues("scan", sum(s.release))
		v["getSystemDisk.diskId"] = "d-1; reboot"
		r := s.run(OOSInstance, v)
		if r.exit != 8 || r.args != "" || r.envelope["error"] != "not a disk id" {
			t.Errorf("exit %d, args %q, envelope %v", r.exit, r.args, r.envelope)
		}
	})
	t.Run("a report too long for the output", func(t *testing.T) {
		s := &step{t: t, dir: t.TempDir(), report: realReport(t, 40, 300), code: 4}
		s.release = s.standIn()
		r := s.run(OOSInstance, oosValues("scan", sum(s.release)))
		if r.envelope["report"] != nil || r.envelope["findings_left"] != 40.0 || r.envelope["report_bytes"].(float64) < 12000 {
			t.Errorf("envelope: exit_code %v findings_left %v report_bytes %v", r.envelope["exit_code"], r.envelope["findings_left"], r.envelope["report_bytes"])
		}
	})
	t.Run("report uploaded to OSS", func(t *testing.T) {
		s := &step{t: t, dir: t.TempDir(), report: realReport(t, 2, 0), code: 4, ossutil: true}
		s.release = s.standIn()
		v := oosValues("scan", sum(s.release))
		v["reportBucket"], v["helperRamRole"] = "reports", "RescueHelper"
		r := s.run(OOSInstance, v)
		loc := fmt.Sprint(r.envelope["report_location"])
		if r.exit != 0 || !regexp.MustCompile(`^oss://reports/rescue/d-bp1abcdef0123456789-[0-9TZ]+\.json$`).MatchString(loc) {
			t.Fatalf("exit %d, location %q, error %v", r.exit, loc, r.envelope["error"])
		}
		up, err := os.ReadFile(filepath.Join(s.dir, "uploaded"))
		must(t, err)
		if string(up) != s.report {
			t.Error("the uploaded report is not rescue's")
		}
		args, _ := os.ReadFile(filepath.Join(s.dir, "ossutil.args"))
		if !strings.Contains(string(args), " cp ") || !strings.HasSuffix(strings.TrimSpace(string(args)), strings.TrimPrefix(loc, "")) {
			t.Errorf("ossutil was run as %q", args)
		}
	})
	t.Run("a bucket without a role", func(t *testing.T) {
		s := &step{t: t, dir: t.TempDir(), report: realReport(t, 1, 0), code: 4}
		s.release = s.standIn()
		v := oosValues("scan", sum(s.release))
		v["reportBucket"] = "reports"
		r := s.run(OOSInstance, v)
		if r.exit != 0 || r.envelope["report_location"] != "" || !strings.Contains(fmt.Sprint(r.envelope["error"]), "uploading the report") {
			t.Errorf("exit %d, envelope %v", r.exit, r.envelope)
		}
	})
	t.Run("ssm", func(t *testing.T) {
		s := &step{t: t, dir: t.TempDir(), report: realReport(t, 1, 0), code: 1}
		s.release = s.standIn()
		r := s.run(SSMInstance, map[string]string{
			"Mode": "fix", "DescribeRootVolume.VolumeId": "vol-0123456789abcdef0", "DescribeInstanceType.MemoryMiB": "4096",
			"ReleaseUrl": "SERVER/rescue", "ReleaseSha256": sum(s.release),
		})
		if r.exit != 0 || r.args != "fix --apply --allow-fsck --json --memory 4096M disk:vol-0123456789abcdef0" {
			t.Errorf("exit %d, args %q", r.exit, r.args)
		}
		// aws:runCommand hands Automation 2500 characters.
		if len(r.stdout) > 2500 {
			t.Errorf("the output has %d characters", len(r.stdout))
		}
		// The document's ParseOutput step reads that output (with the
		// stderr part Run Command appends after a marker).
		got := parseOutputStep(t, r.stdout+"\n----------ERROR-------\nsomething on stderr\n")
		want := map[string]any{"exit_code": 1.0, "findings_left": 1.0,
			"report_location": "s3://reports/rescue/0b9f3a7e-1111-2222-3333-444455556666/i-0helper/awsrunShellScript/0.awsrunShellScript/stdout"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("ParseOutput: %s = %v, want %v", k, got[k], v)
			}
		}
	})
}

func fakeOS() osrelease.Info {
	return osrelease.Info{ID: "debian", VersionID: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)", Family: osrelease.Debian}
}

// parseOutputStep runs the SSM document's ParseOutput script (Python, as
// aws:executeScript does) on a step output and returns what it returns.
func parseOutputStep(t *testing.T, output string) map[string]any {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 to run the ParseOutput step with")
	}
	var script, handler string
	for _, st := range list(mustParse(t, SSMInstance)["mainSteps"]) {
		if obj(st)["name"] == "ParseOutput" {
			in := obj(obj(st)["inputs"])
			script, handler = fmt.Sprint(in["Script"]), fmt.Sprint(in["Handler"])
		}
	}
	events, _ := json.Marshal(map[string]string{"output": output, "commandId": "0b9f3a7e-1111-2222-3333-444455556666",
		"helperId": "i-0helper", "bucket": "reports", "prefix": "rescue/"})
	c := exec.Command(py, "-c", script+"\nimport json, sys\nprint(json.dumps("+handler+"(json.loads(sys.argv[1]), None)))", string(events))
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("ParseOutput: %v\n%s", err, out)
	}
	var got map[string]any
	must(t, json.Unmarshal(out, &got))
	return got
}

// TestOOSOutputsReadTheStep: the template's outputs that read the helper
// step's document with Fn::Jq ask for fields that rescue.runbook/v1 has.
func TestOOSOutputsReadTheStep(t *testing.T) {
	data, err := os.ReadFile("../docs/schema/runbook.v1.json")
	must(t, err)
	var sch struct {
		Properties map[string]any `json:"properties"`
	}
	must(t, json.Unmarshal(data, &sch))
	n := 0
	for name, o := range obj(mustParse(t, OOSInstance)["Outputs"]) {
		jq := list(obj(obj(o)["Value"])["Fn::Jq"])
		if jq == nil {
			continue
		}
		n++
		field, ok := strings.CutPrefix(fmt.Sprint(jq[1]), ".")
		if !ok || sch.Properties[field] == nil {
			t.Errorf("output %s asks for %v, which rescue.runbook/v1 does not have", name, jq[1])
		}
		if src := fmt.Sprint(obj(jq[2])["Fn::Base64Decode"]); src != "{{ readRescue.output }}" {
			t.Errorf("output %s reads %v, not the step's output", name, jq[2])
		}
	}
	if n < 3 {
		t.Errorf("only %d outputs read the step", n)
	}
}
