package runbooks

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// defs are the recorded public definitions (testdata/*-definitions.yaml).
type defs map[string]any

func loadDefs(t *testing.T, name string) defs {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	// Decode into plain maps: a named map type would be used for every
	// nested mapping too.
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return defs(m)
}

// strs reads a list of strings at a path of keys.
func (d defs) strs(keys ...string) []string {
	v, _ := dig(map[string]any(d), keys...).([]any)
	var out []string
	for _, x := range v {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func (d defs) has(keys ...string) bool { return dig(map[string]any(d), keys...) != nil }

func mustParse(t *testing.T, name string) map[string]any {
	t.Helper()
	doc, err := Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// onlyKeys reports the keys of m that are not in allowed.
func onlyKeys(where string, m map[string]any, allowed []string) []string {
	var out []string
	for _, k := range sortedKeys(m) {
		if !slices.Contains(allowed, k) {
			out = append(out, fmt.Sprintf("%s: unknown key %q", where, k))
		}
	}
	return out
}

// indexPattern turns a selector's [0] or [*] into [] to compare it with
// the recorded response paths.
var indexPattern = regexp.MustCompile(`\[[0-9*]*\]`)

func normSelector(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "$."), ".")
	s = strings.ReplaceAll(s, "..", "[].")
	return indexPattern.ReplaceAllString(s, "[]")
}

// walkValues calls f on every map key and string value under v.
func walkValues(v any, f func(key string, s string)) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			f(k, "")
			walkValues(x[k], f)
		}
	case []any:
		for _, e := range x {
			walkValues(e, f)
		}
	case string:
		f("", x)
	}
}

// checkParams checks a runbook's parameters: known keys and types, and
// patterns that compile and accept the defaults. The key names differ
// between OOS (Type) and Automation (type).
func checkParams(d defs, name string, params map[string]any, typeKey, patternKey, defaultKey string) []string {
	var p []string
	for _, k := range sortedKeys(params) {
		prm := obj(params[k])
		p = append(p, onlyKeys(name+": parameter "+k, prm, d.strs("parameter_keys"))...)
		if !slices.Contains(d.strs("parameter_types"), fmt.Sprint(prm[typeKey])) {
			p = append(p, fmt.Sprintf("%s: parameter %s: type %v", name, k, prm[typeKey]))
		}
		if pat, ok := prm[patternKey].(string); ok {
			re, err := regexp.Compile(pat)
			if err != nil {
				p = append(p, fmt.Sprintf("%s: parameter %s: %s: %v", name, k, patternKey, err))
			} else if def, ok := prm[defaultKey].(string); ok && !re.MatchString(def) {
				p = append(p, fmt.Sprintf("%s: parameter %s: the default %q does not match its %s", name, k, def, patternKey))
			}
		}
	}
	return p
}

// checkOOS checks an OOS template against the recorded definitions and
// returns every problem; templates maps the names of other templates an
// ACS::Template task may run to their parsed documents.
func checkOOS(d defs, name string, doc map[string]any, templates map[string]map[string]any) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(name+": "+format, args...)) }
	if doc["FormatVersion"] != d["format_version"] {
		add("FormatVersion %v, want %v", doc["FormatVersion"], d["format_version"])
	}
	p = append(p, onlyKeys(name, doc, d.strs("template_keys"))...)
	params := obj(doc["Parameters"])
	p = append(p, checkParams(d, name, params, "Type", "AllowedPattern", "Default")...)
	tasks := list(doc["Tasks"])
	names := map[string]bool{}
	outputs := map[string][]string{} // task -> its declared outputs
	for _, tv := range tasks {
		task := obj(tv)
		n := fmt.Sprint(task["Name"])
		if names[n] {
			add("task %s is defined twice", n)
		}
		names[n] = true
		for _, o := range sortedKeys(obj(task["Outputs"])) {
			outputs[n] = append(outputs[n], o)
		}
		if loop := obj(task["Loop"]); loop != nil {
			for _, o := range sortedKeys(obj(loop["Outputs"])) {
				outputs[n] = append(outputs[n], o)
			}
		}
	}
	target := func(where, to string) {
		if to != "" && !names[to] && !slices.Contains(d.strs("flow_targets"), to) {
			add("%s goes to %q, which is no task", where, to)
		}
	}
	for _, tv := range tasks {
		task := obj(tv)
		n := fmt.Sprint(task["Name"])
		where := "task " + n
		p = append(p, onlyKeys(name+": "+where, task, d.strs("task_keys"))...)
		for _, k := range []string{"OnError", "OnSuccess"} {
			if s, ok := task[k].(string); ok {
				target(where+" "+k, s)
			}
		}
		for _, o := range sortedKeys(obj(task["Outputs"])) {
			p = append(p, onlyKeys(name+": "+where+" output "+o, obj(obj(task["Outputs"])[o]), d.strs("output_keys"))...)
		}
		if loop := obj(task["Loop"]); loop != nil {
			p = append(p, onlyKeys(name+": "+where+" Loop", loop, d.strs("loop_keys"))...)
			for _, o := range sortedKeys(obj(loop["Outputs"])) {
				lo := obj(obj(loop["Outputs"])[o])
				p = append(p, onlyKeys(name+": "+where+" Loop output "+o, lo, d.strs("loop_output_keys"))...)
				if f := fmt.Sprint(lo["AggregateField"]); !slices.Contains(sortedKeys(obj(task["Outputs"])), f) {
					add("%s: Loop output %s aggregates %q, which the task does not output", where, o, f)
				}
			}
		}
		action := fmt.Sprint(task["Action"])
		props := obj(task["Properties"])
		switch {
		case d.has("atomic", action):
			p = append(p, onlyKeys(name+": "+where+" ("+action+")", props, d.strs("atomic", action, "properties"))...)
			for _, r := range d.strs("atomic", action, "required") {
				if _, ok := props[r]; !ok {
					add("%s (%s): no %s", where, action, r)
				}
			}
		case d.has("actions", action):
			pdefs := obj(dig(map[string]any(d), "actions", action, "parameters"))
			for _, k := range sortedKeys(props) {
				pd := obj(pdefs[k])
				if pd == nil {
					add("%s (%s): %s has no parameter %q", where, action, action, k)
					continue
				}
				if allowed := list(pd["allowed"]); allowed != nil {
					if s, ok := props[k].(string); ok && !strings.Contains(s, "{{") && !slices.ContainsFunc(allowed, func(a any) bool { return fmt.Sprint(a) == s }) {
						add("%s (%s): %s=%q is not one of %v", where, action, k, s, allowed)
					}
				}
			}
			for _, k := range sortedKeys(pdefs) {
				if req, _ := obj(pdefs[k])["required"].(bool); req {
					if _, ok := props[k]; !ok {
						add("%s (%s): no %s", where, action, k)
					}
				}
			}
			outs := d.strs("actions", action, "outputs")
			for _, o := range sortedKeys(obj(task["Outputs"])) {
				sel := normSelector(fmt.Sprint(obj(obj(task["Outputs"])[o])["ValueSelector"]))
				if !slices.Contains(outs, strings.TrimSuffix(sel, "[]")) {
					add("%s (%s): output %s selects %q; the action outputs %v", where, action, o, sel, outs)
				}
			}
		default:
			add("%s: unknown action %q", where, action)
		}
		if action == "ACS::ExecuteAPI" || action == "ACS::WaitFor" || action == "ACS::CheckFor" {
			svc, api := fmt.Sprint(props["Service"]), fmt.Sprint(props["API"])
			adef := obj(dig(map[string]any(d), "apis", svc, api))
			if adef == nil {
				add("%s: %s API %s is not among the recorded definitions", where, svc, api)
				continue
			}
			allowedParams := d.strs("apis", svc, api, "parameters")
			for _, k := range sortedKeys(obj(props["Parameters"])) {
				if !slices.Contains(allowedParams, k) {
					add("%s: %s %s has no parameter %q", where, svc, api, k)
				}
				if allowed := d.strs("apis", svc, api, "allowed", k); allowed != nil {
					if s, ok := obj(props["Parameters"])[k].(string); ok && !slices.Contains(allowed, s) {
						add("%s: %s %s: %s=%q is not one of %v", where, svc, api, k, s, allowed)
					}
				}
			}
			responses := d.strs("apis", svc, api, "responses")
			sels := map[string]string{}
			if s, ok := props["PropertySelector"].(string); ok {
				sels["PropertySelector"] = s
			}
			for _, o := range sortedKeys(obj(task["Outputs"])) {
				sels["output "+o] = fmt.Sprint(obj(obj(task["Outputs"])[o])["ValueSelector"])
			}
			for what, s := range sels {
				if !slices.Contains(responses, normSelector(s)) {
					add("%s: %s selects %q, which %s %s does not return", where, what, s, svc, api)
				}
			}
		}
		if action == "ACS::Choice" {
			target(where+" DefaultTask", fmt.Sprint(props["DefaultTask"]))
			for _, c := range list(props["Choices"]) {
				target(where+" NextTask", fmt.Sprint(obj(c)["NextTask"]))
			}
		}
		if action == "ACS::Template" {
			child := templates[templateDefault(doc, fmt.Sprint(props["TemplateName"]))]
			if child == nil {
				add("%s: runs template %v, which is not here", where, props["TemplateName"])
				continue
			}
			cparams := obj(child["Parameters"])
			given := obj(props["Parameters"])
			for _, k := range sortedKeys(given) {
				if cparams[k] == nil {
					add("%s: the child template has no parameter %q", where, k)
				}
			}
			for _, k := range sortedKeys(cparams) {
				if _, hasDefault := obj(cparams[k])["Default"]; !hasDefault && given[k] == nil {
					add("%s: the child template's parameter %s is required and not given", where, k)
				}
			}
			for _, o := range sortedKeys(obj(task["Outputs"])) {
				sel := fmt.Sprint(obj(obj(task["Outputs"])[o])["ValueSelector"])
				if obj(child["Outputs"])[sel] == nil {
					add("%s: output %s selects %q, which the child template does not output", where, o, sel)
				}
			}
		}
	}
	for _, o := range sortedKeys(obj(doc["Outputs"])) {
		p = append(p, onlyKeys(name+": output "+o, obj(obj(doc["Outputs"])[o]), d.strs("template_output_keys"))...)
	}
	walkValues(doc, func(key, s string) {
		if strings.HasPrefix(key, "Fn::") && !slices.Contains(d.strs("functions"), key) {
			add("unknown function %s", key)
		}
	})
	// Every {{ }} reference names a parameter, a built-in, or a declared
	// output of a task.
	walkValues(doc, func(_ string, s string) {
		for _, ref := range References(s) {
			task, out, isOutput := strings.Cut(ref, ".")
			switch {
			case params[ref] != nil, slices.Contains(d.strs("builtins"), ref):
			case isOutput && names[task]:
				if !slices.Contains(outputs[task], out) {
					add("{{ %s }}: task %s has no output %s (it has %v)", ref, task, out, outputs[task])
				}
			default:
				add("{{ %s }} names no parameter, built-in or task output", ref)
			}
		}
	})
	return p
}

// templateDefault resolves a TemplateName given as '{{ param }}' to the
// parameter's default.
func templateDefault(doc map[string]any, name string) string {
	refs := References(name)
	if len(refs) == 1 {
		if def, ok := obj(obj(doc["Parameters"])[refs[0]])["Default"].(string); ok {
			return def
		}
	}
	return name
}

func oosTemplates(t *testing.T) map[string]map[string]any {
	return map[string]map[string]any{
		"rescue-instance": mustParse(t, OOSInstance),
		"rescue-fleet":    mustParse(t, OOSFleet),
	}
}

func TestOOSTemplatesMatchDefinitions(t *testing.T) {
	d := loadDefs(t, "oos-definitions.yaml")
	tmpls := oosTemplates(t)
	for _, name := range []string{OOSInstance, OOSFleet} {
		for _, problem := range checkOOS(d, name, mustParse(t, name), tmpls) {
			t.Error(problem)
		}
	}
}

// mutate returns a copy of a runbook's text with old replaced by new
// (exactly once), parsed.
func mutate(t *testing.T, name, old, new string) map[string]any {
	t.Helper()
	data, err := Read(name)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(data), old) < 1 {
		t.Fatalf("%s does not contain %q", name, old)
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(strings.Replace(string(data), old, new, 1)), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestOOSCheckerCatches: the checks above find the mistakes they are for
// (the kind a template author makes, and the kind the public rescue
// template of OOS itself has: a reference to a task output by a wrong name).
func TestOOSCheckerCatches(t *testing.T) {
	d := loadDefs(t, "oos-definitions.yaml")
	tmpls := oosTemplates(t)
	for _, tc := range []struct{ old, new, want string }{
		{"InstanceIds:\n          - '{{ instanceId }}'", "InstanceIDs:\n          - '{{ instanceId }}'", `has no parameter "InstanceIDs"`},
		{"Value: '{{ createSnapshot.snapshotId }}'", "Value: '{{ createsnapshot.snapshotId }}'", "names no parameter"},
		{"Value: '{{ getSystemDisk.diskId }}'", "Value: '{{ getSystemDisk.diskID }}'", "has no output diskID"},
		{"ValueSelector: Instances.Instance[0].Memory", "ValueSelector: Instances.Instance[0].MemorySize", "does not return"},
		{"OnError: detachFromHelper", "OnError: detachFromHelpr", "which is no task"},
		{"Action: ACS::ECS::StopInstance", "Action: ACS::ECS::StopInstances", "unknown action"},
		{"bootable: true", "bootable: true\n      keyPairName: x", `has no parameter "keyPairName"`},
		{"Type: RunShellScript", "Type: RunShell", "is not one of"},
		{"Fn::Base64Decode: '{{ readRescue.output }}'", "Fn::Base64Decoded: '{{ readRescue.output }}'", "unknown function"},
		{"    Default: rescue/\n", "    Default: 'rescue prefix'\n", "does not match its AllowedPattern"},
		{"    Type: Boolean\n    Default: false", "    Type: Bool\n    Default: false", "type Bool"},
	} {
		found := false
		for _, p := range checkOOS(d, OOSInstance, mutate(t, OOSInstance, tc.old, tc.new), tmpls) {
			if strings.Contains(p, tc.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("changing %q to %q: no problem saying %q", tc.old, tc.new, tc.want)
		}
	}
	fleetDoc := mutate(t, OOSFleet, "        mode: '{{ mode }}'", "        modes: '{{ mode }}'")
	if p := checkOOS(d, OOSFleet, fleetDoc, tmpls); !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, `no parameter "modes"`) }) {
		t.Errorf("a parameter the child template does not have: %v", p)
	}
}

// checkSSM checks an Automation document against the recorded definitions.
func checkSSM(d defs, name string, doc map[string]any) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(name+": "+format, args...)) }
	if fmt.Sprint(doc["schemaVersion"]) != fmt.Sprint(d["schema_version"]) {
		add("schemaVersion %v, want %v", doc["schemaVersion"], d["schema_version"])
	}
	p = append(p, onlyKeys(name, doc, d.strs("document_keys"))...)
	params := obj(doc["parameters"])
	p = append(p, checkParams(d, name, params, "type", "allowedPattern", "default")...)
	steps := list(doc["mainSteps"])
	names := map[string]bool{}
	outputs := map[string][]string{}
	for _, sv := range steps {
		step := obj(sv)
		n := fmt.Sprint(step["name"])
		if names[n] {
			add("step %s is defined twice", n)
		}
		names[n] = true
		for _, o := range list(step["outputs"]) {
			outputs[n] = append(outputs[n], fmt.Sprint(obj(o)["Name"]))
		}
		outputs[n] = append(outputs[n], d.strs("actions", fmt.Sprint(step["action"]), "outputs")...)
	}
	target := func(where, to string) {
		if s, ok := strings.CutPrefix(to, "step:"); ok {
			if !names[s] {
				add("%s goes to %q, which is no step", where, to)
			}
			return
		}
		if !slices.Contains(d.strs("flow_targets"), to) {
			add("%s: %q is not Abort, Continue or step:NAME", where, to)
		}
	}
	for _, sv := range steps {
		step := obj(sv)
		n := fmt.Sprint(step["name"])
		where := "step " + n
		p = append(p, onlyKeys(name+": "+where, step, d.strs("step_keys"))...)
		for _, k := range []string{"onFailure", "onCancel"} {
			if s, ok := step[k].(string); ok {
				target(where+" "+k, s)
			}
		}
		if s, ok := step["nextStep"].(string); ok && !names[s] {
			add("%s nextStep %q is no step", where, s)
		}
		for _, o := range list(step["outputs"]) {
			p = append(p, onlyKeys(name+": "+where+" output", obj(o), d.strs("output_keys"))...)
			if !slices.Contains(d.strs("output_types"), fmt.Sprint(obj(o)["Type"])) {
				add("%s: output type %v", where, obj(o)["Type"])
			}
		}
		action := fmt.Sprint(step["action"])
		inputs := obj(step["inputs"])
		if !d.has("actions", action) {
			add("%s: unknown action %q", where, action)
			continue
		}
		for _, r := range d.strs("actions", action, "required") {
			if _, ok := inputs[r]; !ok {
				add("%s (%s): no input %s", where, action, r)
			}
		}
		allowed := d.strs("actions", action, "inputs")
		if apiInputs, _ := dig(map[string]any(d), "actions", action, "api_inputs").(bool); apiInputs {
			svc, api := fmt.Sprint(inputs["Service"]), fmt.Sprint(inputs["Api"])
			if !d.has("apis", svc, api) {
				add("%s: %s %s is not among the recorded definitions", where, svc, api)
				continue
			}
			allowed = append(allowed, d.strs("apis", svc, api, "parameters")...)
			responses := d.strs("apis", svc, api, "responses")
			var sels []string
			if s, ok := inputs["PropertySelector"].(string); ok {
				sels = append(sels, s)
			}
			for _, o := range list(step["outputs"]) {
				sels = append(sels, fmt.Sprint(obj(o)["Selector"]))
			}
			for _, s := range sels {
				if !slices.Contains(responses, normSelector(s)) {
					add("%s: selects %q, which %s %s does not return", where, s, svc, api)
				}
			}
		}
		p = append(p, onlyKeys(name+": "+where+" ("+action+")", inputs, allowed)...)
		switch action {
		case "aws:branch":
			target(where+" Default", "step:"+fmt.Sprint(inputs["Default"]))
			var checkChoice func(c map[string]any, top bool)
			checkChoice = func(c map[string]any, top bool) {
				p = append(p, onlyKeys(name+": "+where+" choice", c, d.strs("branch_choice_keys"))...)
				if top {
					target(where+" NextStep", "step:"+fmt.Sprint(c["NextStep"]))
				}
				for _, k := range []string{"And", "Or"} {
					for _, sub := range list(c[k]) {
						checkChoice(obj(sub), false)
					}
				}
			}
			for _, c := range list(inputs["Choices"]) {
				checkChoice(obj(c), true)
			}
		case "aws:runCommand":
			docName := fmt.Sprint(inputs["DocumentName"])
			if !d.has("command_documents", docName) {
				add("%s: command document %s is not among the recorded definitions", where, docName)
				break
			}
			p = append(p, onlyKeys(name+": "+where+" "+docName, obj(inputs["Parameters"]), d.strs("command_documents", docName))...)
		case "aws:executeScript":
			if !slices.Contains(d.strs("actions", action, "runtimes"), fmt.Sprint(inputs["Runtime"])) {
				add("%s: runtime %v", where, inputs["Runtime"])
			}
		}
	}
	for _, o := range list(doc["outputs"]) {
		step, out, _ := strings.Cut(fmt.Sprint(o), ".")
		if !slices.Contains(outputs[step], out) {
			add("document output %v: step %s has no output %s", o, step, out)
		}
	}
	walkValues(doc, func(_ string, s string) {
		for _, ref := range References(s) {
			step, out, isOutput := strings.Cut(ref, ".")
			switch {
			case params[ref] != nil:
			case slices.ContainsFunc(d.strs("builtin_prefixes"), func(pre string) bool { return strings.HasPrefix(ref, pre) }):
			case isOutput && names[step]:
				if !slices.Contains(outputs[step], out) {
					add("{{ %s }}: step %s has no output %s (it has %v)", ref, step, out, outputs[step])
				}
			default:
				add("{{ %s }} names no parameter, built-in or step output", ref)
			}
		}
	})
	return p
}

func TestSSMDocumentMatchesDefinitions(t *testing.T) {
	d := loadDefs(t, "ssm-definitions.yaml")
	for _, problem := range checkSSM(d, SSMInstance, mustParse(t, SSMInstance)) {
		t.Error(problem)
	}
}

func TestSSMCheckerCatches(t *testing.T) {
	d := loadDefs(t, "ssm-definitions.yaml")
	for _, tc := range []struct{ old, new, want string }{
		{"Api: DetachVolume", "Api: DetachVolumes", "not among the recorded definitions"},
		{"      Device: /dev/sdf", "      DeviceName: /dev/sdf", `unknown key "DeviceName"`},
		{"onFailure: step:TerminateHelper", "onFailure: step:TerminateHelpers", "which is no step"},
		{"Selector: $.Volumes[0].Encrypted", "Selector: $.Volumes[0].IsEncrypted", "does not return"},
		{"'{{ DescribeRootVolume.VolumeId }}'", "'{{ DescribeRootVolume.Volume }}'", "has no output Volume"},
		{"executionTimeout: '3600'", "timeout: '3600'", `unknown key "timeout"`},
		{"  - ParseOutput.ExitCode", "  - ParseOutput.Exit", "has no output Exit"},
		{"BooleanEquals: true", "BoolEquals: true", `unknown key "BoolEquals"`},
	} {
		found := false
		for _, p := range checkSSM(d, SSMInstance, mutate(t, SSMInstance, tc.old, tc.new)) {
			if strings.Contains(p, tc.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("changing %q to %q: no problem saying %q", tc.old, tc.new, tc.want)
		}
	}
}
