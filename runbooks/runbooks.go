// Package runbooks holds the cloud runbooks that drive rescue unattended,
// an Alibaba Cloud OOS template (oos/, one instance and a fleet) and an AWS
// Systems Manager Automation document (ssm/), and reads them: the tests
// check them against the clouds' public definitions and walk every path of
// their task graphs, and the e2e suite takes the helper step's command text
// from them and runs it on a helper VM.
package runbooks

import (
	"embed"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed oos/*.yml ssm/*.yml helper.sh
var files embed.FS

// The runbooks, by file.
const (
	OOSInstance = "oos/rescue-instance.yml"
	OOSFleet    = "oos/rescue-fleet.yml"
	SSMInstance = "ssm/rescue-instance.yml"
)

// HelperBodyMarker starts the part of the helper step that is the same in
// every runbook (helper.sh); above it, each runbook fills in its values.
const HelperBodyMarker = "# ---- rescue helper step: the same in every template (runbooks/helper.sh) ----"

// Read returns a runbook file's text.
func Read(name string) ([]byte, error) { return files.ReadFile(name) }

// Parse reads a runbook's YAML into generic values.
func Parse(name string) (map[string]any, error) {
	data, err := files.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", name, err)
	}
	return doc, nil
}

// HelperBody is the common part of the helper step (helper.sh).
func HelperBody() string {
	data, _ := files.ReadFile("helper.sh")
	return strings.TrimRight(string(data), "\n")
}

// HelperCommand returns the command text a runbook hands the cloud's agent
// for the helper step: the CommandContent of the OOS task runRescue, or
// the commands of the SSM step RunRescue, still with its {{ }} references.
func HelperCommand(name string) (string, error) {
	doc, err := Parse(name)
	if err != nil {
		return "", err
	}
	if tasks, ok := doc["Tasks"].([]any); ok {
		for _, t := range tasks {
			task, _ := t.(map[string]any)
			if task["Name"] != "runRescue" {
				continue
			}
			s, ok := dig(task, "Properties", "Parameters", "CommandContent").(string)
			if !ok {
				return "", fmt.Errorf("%s: runRescue has no CommandContent", name)
			}
			return s, nil
		}
	}
	if steps, ok := doc["mainSteps"].([]any); ok {
		for _, s := range steps {
			step, _ := s.(map[string]any)
			if step["name"] != "RunRescue" {
				continue
			}
			cmds, _ := dig(step, "inputs", "Parameters", "commands").([]any)
			var lines []string
			for _, c := range cmds {
				str, ok := c.(string)
				if !ok {
					return "", fmt.Errorf("%s: RunRescue has a command that is not a string", name)
				}
				lines = append(lines, str)
			}
			if len(lines) == 0 {
				return "", fmt.Errorf("%s: RunRescue has no commands", name)
			}
			// AWS-RunShellScript writes the commands to a script, one
			// per line.
			return strings.Join(lines, "\n"), nil
		}
	}
	return "", fmt.Errorf("%s: no helper step (runRescue or RunRescue)", name)
}

// dig follows map keys.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// refPattern matches a {{ reference }} as OOS and Automation write them.
var refPattern = regexp.MustCompile(`\{\{\s*([^{}\s]+)\s*\}\}`)

// References lists the distinct {{ }} references in a text, sorted.
func References(text string) []string {
	seen := map[string]bool{}
	for _, m := range refPattern.FindAllStringSubmatch(text, -1) {
		seen[m[1]] = true
	}
	out := make([]string, 0, len(seen))
	for r := range seen {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// Fill replaces every {{ reference }} in text with its value, as the cloud
// does before it hands the text on. A reference without a value is an
// error, so that nothing is run half filled in.
func Fill(text string, values map[string]string) (string, error) {
	var missing []string
	out := refPattern.ReplaceAllStringFunc(text, func(m string) string {
		ref := refPattern.FindStringSubmatch(m)[1]
		v, ok := values[ref]
		if !ok {
			missing = append(missing, ref)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		sort.Strings(missing)
		return "", fmt.Errorf("no value for %s", strings.Join(missing, ", "))
	}
	return out, nil
}
