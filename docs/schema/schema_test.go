package schema

import (
	"strings"
	"testing"
)

// TestSchemasCatchMistakes: the schemas compile, accept a minimal valid
// document, and reject the mistakes they are there to catch (a field
// nobody documented, a wrong enum value, a missing field), so that a
// passing validation elsewhere means something.
func TestSchemasCatchMistakes(t *testing.T) {
	valid := `{"schema":"rescue.report/v1","tool":{"name":"rescue","version":"dev"},"target":{"path":"/mnt"},
"os":{"id":"debian","family":"debian"},"summary":{"critical":1,"error":0,"warning":0,"info":0,"fixable":1},"findings_left":1,
"findings":[{"id":"fstab/x:/etc/fstab#/","check":"fstab","kind":"x","severity":"critical","message":"m",
"fixes":[{"message":"f","ops":[{"kind":"write","path":"/etc/fstab","expect":{"type":"file","mode":"0644","uid":0,"gid":0}}]}]}],
"checks":[{"name":"fstab","findings":1}]}`
	if err := Validate([]byte(valid)); err != nil {
		t.Fatalf("a valid report: %v", err)
	}
	for name, broken := range map[string]string{
		"an undocumented field":   strings.Replace(valid, `"findings_left":1`, `"findings_left":1,"surprise":true`, 1),
		"an unknown severity":     strings.Replace(valid, `"critical","message"`, `"fatal","message"`, 1),
		"a missing field":         strings.Replace(valid, `"findings_left":1,`, ``, 1),
		"a mode that is a number": strings.Replace(valid, `"mode":"0644"`, `"mode":420`, 1),
		"an unknown op":           strings.Replace(valid, `"kind":"write"`, `"kind":"format"`, 1),
		"another schema's name":   strings.Replace(valid, `rescue.report/v1`, `rescue.fix/v1`, 1),
	} {
		if err := Validate([]byte(broken)); err == nil {
			t.Errorf("%s: validated", name)
		}
	}
	if err := Validate([]byte(`{"schema":"rescue.nothing/v1"}`)); err == nil {
		t.Error("an unknown schema validated")
	}
}

// TestEveryFileIsUsed: every schema file is compiled through Files or
// referenced by one that is.
func TestEveryFileIsUsed(t *testing.T) {
	ents, err := files.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{"defs.v1.json": true}
	for _, f := range Files {
		used[f] = true
	}
	for _, e := range ents {
		if !used[e.Name()] {
			t.Errorf("%s is not in Files", e.Name())
		}
	}
	if err := ValidateAs("rescue.fix/v1", []byte(`{}`)); err == nil {
		t.Error("an empty fix report validated")
	}
}

// TestChecksSchema: rescue checks --json (a list without a schema field,
// validated by name) wants each check's finding kinds, as slugs.
func TestChecksSchema(t *testing.T) {
	valid := `[{"name":"fstab","summary":"s","requires":["fstab"],"kinds":["missing","root-source-unknown"]},{"name":"grub","summary":"s","kinds":["config-missing"]}]`
	if err := ValidateAs("rescue.checks/v1", []byte(valid)); err != nil {
		t.Fatalf("a valid list: %v", err)
	}
	for name, broken := range map[string]string{
		"no kinds":                strings.Replace(valid, `,"kinds":["config-missing"]`, ``, 1),
		"an empty list of kinds":  strings.Replace(valid, `["config-missing"]`, `[]`, 1),
		"a kind that is no slug":  strings.Replace(valid, `"config-missing"`, `"Config missing"`, 1),
		"a kind twice":            strings.Replace(valid, `["config-missing"]`, `["x","x"]`, 1),
		"an undocumented field":   strings.Replace(valid, `"summary":"s",`, `"summary":"s","surprise":1,`, 1),
		"a summary that is empty": strings.Replace(valid, `"summary":"s",`, `"summary":"",`, 1),
	} {
		if err := ValidateAs("rescue.checks/v1", []byte(broken)); err == nil {
			t.Errorf("%s: validated", name)
		}
	}
}
