package runbooks

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// The task graph of a runbook, walked path by path. Every task may fail
// (an API call, a timeout) and succeeds only when what it acts on is in
// the state it needs (a disk can be attached only when it is free); a
// When condition or a branch takes each of its ways. Along each path the
// model follows the broken instance's disk, the helper and the instance,
// and at the end of every path it holds the runbook to its promise: the
// disk was snapshotted before it moved, it is back on the instance as the
// system disk, the temporary helper is gone and the instance was started;
// or, where a step that puts things back failed itself, every other such
// step was still tried.

// disk locations
const (
	onInstance  = "instance"
	free        = "free"
	onHelper    = "helper"
	dataOnInst  = "instance as a data disk"
	diskDeleted = "deleted"
)

// effect kinds of a task
const (
	effNone = iota
	effStop
	effSnapshot
	effCreateHelper
	effDetachFromInstance
	effAttachToHelper
	effRescue
	effDetachFromHelper
	effDeleteHelper
	effAttachToInstance
	effStart
)

var effectNames = map[int]string{effStop: "stop", effSnapshot: "snapshot", effCreateHelper: "create helper",
	effDetachFromInstance: "detach from the instance", effAttachToHelper: "attach to the helper", effRescue: "helper step",
	effDetachFromHelper: "detach from the helper", effDeleteHelper: "delete the helper", effAttachToInstance: "attach back",
	effStart: "start"}

type gnode struct {
	name    string
	effect  int
	flag    bool     // attach to helper: deleted with the helper; attach back: as the system disk
	when    string   // condition key ("" none); the task runs when it holds
	next    []string // on success (several for a branch); "" is the end
	onError string   // on failure; "" is the end
}

type graph struct {
	nodes []*gnode
	index map[string]int
	// helperCond is the condition under which the runbook creates its own
	// helper ("" when it always does).
	helperCond string
}

type gstate struct {
	disk       string
	helper     string // none, created, deleted, given
	stopped    bool
	snapshot   bool
	left       bool // the disk left the instance
	tried      map[int]bool
	failed     map[int]bool // restoring effects that failed
	world      map[string]bool
	stopTried  bool
	path       []string
	helperMade bool
}

func (s *gstate) clone() *gstate {
	c := *s
	c.tried, c.failed, c.world = map[int]bool{}, map[int]bool{}, map[string]bool{}
	for k, v := range s.tried {
		c.tried[k] = v
	}
	for k, v := range s.failed {
		c.failed[k] = v
	}
	for k, v := range s.world {
		c.world[k] = v
	}
	c.path = append([]string(nil), s.path...)
	return &c
}

// apply performs a task's effect on success; it returns false when the
// task cannot succeed in this state.
func (s *gstate) apply(n *gnode, problem func(string)) bool {
	switch n.effect {
	case effStop:
		s.stopped = true
	case effSnapshot:
		if s.disk != onInstance {
			return false
		}
		s.snapshot = true
	case effCreateHelper:
		s.helper, s.helperMade = "created", true
	case effDetachFromInstance:
		if s.disk != onInstance || !s.stopped {
			return false
		}
		if !s.snapshot {
			problem("the disk leaves the instance before its snapshot exists")
		}
		s.disk, s.left = free, true
	case effAttachToHelper:
		if s.disk != free || (s.helper != "created" && s.helper != "given") {
			return false
		}
		s.disk = onHelper
		if n.flag {
			s.world["delete-with-helper"] = true
		}
	case effRescue:
		if s.helper != "created" && s.helper != "given" {
			return false
		}
		if s.disk != onHelper {
			problem("the helper step runs without the disk attached")
		}
	case effDetachFromHelper:
		if s.disk != onHelper {
			return false
		}
		s.disk = free
	case effDeleteHelper:
		if s.helper == "given" {
			problem("the helper the user gave is deleted")
		}
		if s.helper != "created" {
			return false
		}
		s.helper = "deleted"
		if s.disk == onHelper {
			if s.world["delete-with-helper"] {
				s.disk = diskDeleted
			} else {
				s.disk = free
			}
		}
	case effAttachToInstance:
		if s.disk != free {
			return false
		}
		s.disk = onInstance
		if !n.flag {
			s.disk = dataOnInst
		}
	case effStart:
		if s.disk != onInstance {
			return false
		}
	}
	return true
}

var restoring = []int{effDetachFromHelper, effDeleteHelper, effAttachToInstance, effStart}

func isRestoring(e int) bool {
	for _, r := range restoring {
		if r == e {
			return true
		}
	}
	return false
}

// walk explores every path and returns the problems found and the number
// of paths.
func (g *graph) walk() ([]string, int) {
	problems := map[string]bool{}
	paths := 0
	var visit func(i int, s *gstate, depth int)
	end := func(s *gstate) {
		paths++
		var p []string
		note := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
		if s.disk == diskDeleted {
			note("the disk is deleted with the helper")
		}
		if s.left {
			if !s.tried[effAttachToInstance] {
				note("the disk left the instance and putting it back is never tried")
			}
			if s.helperMade && !s.tried[effDeleteHelper] {
				note("the temporary helper is never deleted")
			}
		}
		if s.stopTried && !s.tried[effStart] {
			note("the instance is stopped and never started")
		}
		if len(s.failed) == 0 {
			if s.disk != onInstance {
				note("the path ends with the disk %s", s.disk)
			}
			if s.helper == "created" {
				note("the path ends with the temporary helper still there")
			}
		}
		for _, x := range p {
			problems[x+" (path: "+strings.Join(s.path, " → ")+")"] = true
		}
	}
	visit = func(i int, s *gstate, depth int) {
		if depth > 4*len(g.nodes) {
			problems["the graph loops"] = true
			return
		}
		if i < 0 || i >= len(g.nodes) {
			end(s)
			return
		}
		n := g.nodes[i]
		if n.when != "" {
			v, known := s.world[n.when]
			if !known {
				for _, b := range []bool{true, false} {
					c := s.clone()
					c.world[n.when] = b
					if n.when == g.helperCond && !b {
						c.helper = "given"
					}
					visit(i, c, depth)
				}
				return
			}
			if !v {
				c := s.clone()
				c.path = append(c.path, n.name+"(skipped)")
				visit(i+1, c, depth+1)
				return
			}
		}
		if n.effect != effNone {
			s.tried[n.effect] = true
		}
		if n.effect == effStop {
			s.stopTried = true
		}
		// success
		ok := s.clone()
		okPossible := ok.apply(n, func(x string) { problems[x+" (path: "+strings.Join(append(ok.path, n.name), " → ")+")"] = true })
		if okPossible {
			ok.path = append(ok.path, n.name)
			for _, nx := range n.next {
				j, known := g.index[nx]
				if !known {
					problems[n.name+" goes to "+nx+", which is no task"] = true
					continue
				}
				visit(j, ok.clone(), depth+1)
			}
		}
		// failure
		bad := s.clone()
		bad.path = append(bad.path, n.name+"(fails)")
		// A step that puts things back may fail on its own (the cloud's
		// API, a timeout): the path is then excused from ending in
		// order, as long as it tried everything else. A step that cannot
		// succeed because the runbook put things in the wrong state is no
		// excuse.
		if isRestoring(n.effect) && okPossible {
			bad.failed[n.effect] = true
		}
		if j, known := g.index[n.onError]; n.onError != "" && known {
			visit(j, bad, depth+1)
		} else {
			end(bad)
		}
	}
	visit(0, &gstate{disk: onInstance, helper: "none", tried: map[int]bool{}, failed: map[int]bool{}, world: map[string]bool{}}, 0)
	var out []string
	for p := range problems {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, paths
}

// role says whether a value names the broken instance or the helper.
func role(v any, helperRefs []string, instanceRef string) string {
	s := fmt.Sprint(v)
	for _, h := range helperRefs {
		if strings.Contains(s, h) {
			return "helper"
		}
	}
	if strings.Contains(s, instanceRef) {
		return "instance"
	}
	return ""
}

// oosGraph builds the graph of an OOS template.
func oosGraph(t *testing.T, doc map[string]any) *graph {
	tasks := list(doc["Tasks"])
	g := &graph{index: map[string]int{"": len(tasks)}}
	helperRefs := []string{"createHelper.instanceId", "{{ helperInstanceId }}"}
	const inst = "{{ instanceId }}"
	for i, tv := range tasks {
		task := obj(tv)
		g.index[fmt.Sprint(task["Name"])] = i
	}
	for i, tv := range tasks {
		task := obj(tv)
		n := &gnode{name: fmt.Sprint(task["Name"])}
		props := obj(task["Properties"])
		next := ""
		if i+1 < len(tasks) {
			next = fmt.Sprint(obj(tasks[i+1])["Name"])
		}
		resolve := func(to string) string {
			switch to {
			case "ACS::END":
				return ""
			case "ACS::NEXT":
				return next
			}
			return to
		}
		n.next = []string{next}
		if s, ok := task["OnSuccess"].(string); ok {
			n.next = []string{resolve(s)}
		}
		if s, ok := task["OnError"].(string); ok {
			n.onError = resolve(s)
		}
		if w := obj(task["When"]); w != nil {
			eq := list(w["Fn::Equals"])
			if len(eq) != 2 {
				t.Fatalf("%s: only When: Fn::Equals is modelled", n.name)
			}
			n.when = fmt.Sprintf("%v == %v", eq[0], eq[1])
		}
		action := fmt.Sprint(task["Action"])
		switch action {
		case "ACS::Choice":
			n.next = []string{resolve(fmt.Sprint(props["DefaultTask"]))}
			for _, c := range list(props["Choices"]) {
				n.next = append(n.next, resolve(fmt.Sprint(obj(c)["NextTask"])))
			}
		case "ACS::ECS::StopInstance":
			if role(props["instanceId"], helperRefs, inst) == "instance" {
				n.effect = effStop
			}
		case "ACS::ECS::StartInstance":
			if role(props["instanceId"], helperRefs, inst) == "instance" {
				n.effect = effStart
			}
		case "ACS::ECS::CreateSnapshot":
			n.effect = effSnapshot
		case "ACS::ECS::RunInstances":
			n.effect = effCreateHelper
			g.helperCond = n.when
		case "ACS::ECS::DetachDisk":
			n.effect = map[string]int{"instance": effDetachFromInstance, "helper": effDetachFromHelper}[role(props["instanceId"], helperRefs, inst)]
		case "ACS::ECS::AttachDisk":
			switch role(props["instanceId"], helperRefs, inst) {
			case "helper":
				n.effect, n.flag = effAttachToHelper, fmt.Sprint(props["deleteWithInstance"]) != "false"
			case "instance":
				n.effect, n.flag = effAttachToInstance, fmt.Sprint(props["bootable"]) == "true"
			}
		case "ACS::ExecuteAPI":
			params := obj(props["Parameters"])
			switch props["API"] {
			case "RunCommand":
				if role(params["InstanceIds"], helperRefs, inst) == "helper" {
					n.effect = effRescue
				}
			case "DeleteInstance":
				if role(params["InstanceId"], helperRefs, inst) == "helper" {
					n.effect = effDeleteHelper
				}
			case "DetachDisk", "AttachDisk", "StopInstance", "StartInstance", "RunInstances", "CreateSnapshot":
				t.Fatalf("%s: model %s through ACS::ExecuteAPI", n.name, props["API"])
			}
		}
		g.nodes = append(g.nodes, n)
	}
	return g
}

// ssmGraph builds the graph of an Automation document.
func ssmGraph(t *testing.T, doc map[string]any) *graph {
	steps := list(doc["mainSteps"])
	g := &graph{index: map[string]int{"": len(steps)}}
	helperRefs := []string{"CreateHelper.HelperId"}
	const inst = "{{ InstanceId }}"
	for i, sv := range steps {
		g.index[fmt.Sprint(obj(sv)["name"])] = i
	}
	for i, sv := range steps {
		step := obj(sv)
		n := &gnode{name: fmt.Sprint(step["name"])}
		next := ""
		if i+1 < len(steps) {
			next = fmt.Sprint(obj(steps[i+1])["name"])
		}
		n.next = []string{next}
		if s, ok := step["nextStep"].(string); ok {
			n.next = []string{s}
		}
		if b, _ := step["isEnd"].(bool); b {
			n.next = []string{""}
		}
		switch f := fmt.Sprint(step["onFailure"]); {
		case strings.HasPrefix(f, "step:"):
			n.onError = strings.TrimPrefix(f, "step:")
		case f == "Continue":
			n.onError = next
		}
		inputs := obj(step["inputs"])
		switch step["action"] {
		case "aws:branch":
			n.next = []string{fmt.Sprint(inputs["Default"])}
			for _, c := range list(inputs["Choices"]) {
				n.next = append(n.next, fmt.Sprint(obj(c)["NextStep"]))
			}
		case "aws:runCommand":
			if role(inputs["InstanceIds"], helperRefs, inst) == "helper" {
				n.effect = effRescue
			}
		case "aws:executeAwsApi":
			switch inputs["Api"] {
			case "StopInstances":
				if role(inputs["InstanceIds"], helperRefs, inst) == "instance" {
					n.effect = effStop
				}
			case "StartInstances":
				if role(inputs["InstanceIds"], helperRefs, inst) == "instance" {
					n.effect = effStart
				}
			case "CreateSnapshot":
				n.effect = effSnapshot
			case "RunInstances":
				n.effect = effCreateHelper
			case "TerminateInstances":
				if role(inputs["InstanceIds"], helperRefs, inst) == "helper" {
					n.effect = effDeleteHelper
				}
			case "DetachVolume":
				n.effect = map[string]int{"instance": effDetachFromInstance, "helper": effDetachFromHelper}[role(inputs["InstanceId"], helperRefs, inst)]
			case "AttachVolume":
				switch role(inputs["InstanceId"], helperRefs, inst) {
				case "helper":
					// AttachVolume leaves DeleteOnTermination off.
					n.effect = effAttachToHelper
				case "instance":
					n.effect = effAttachToInstance
					n.flag = fmt.Sprint(inputs["Device"]) == "{{ DescribeInstance.RootDeviceName }}"
				}
			}
		}
		g.nodes = append(g.nodes, n)
	}
	return g
}

func TestTaskGraphsKeepTheirPromise(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(*testing.T, map[string]any) *graph
	}{{OOSInstance, oosGraph}, {SSMInstance, ssmGraph}} {
		g := tc.build(t, mustParse(t, tc.name))
		problems, paths := g.walk()
		for _, p := range problems {
			t.Errorf("%s: %s", tc.name, p)
		}
		t.Logf("%s: %d paths walked", tc.name, paths)
		if paths < 50 {
			t.Errorf("%s: only %d paths: the model does not see the graph", tc.name, paths)
		}
		// Every effect the promise rests on is in the graph.
		seen := map[int]bool{}
		for _, n := range g.nodes {
			seen[n.effect] = true
		}
		for e, name := range effectNames {
			if !seen[e] {
				t.Errorf("%s: no task does %q", tc.name, name)
			}
		}
	}
}

// TestTaskGraphWalkCatches breaks the runbooks the ways that lose a disk
// or leave a helper behind, and expects the walk to say so.
func TestTaskGraphWalkCatches(t *testing.T) {
	for _, tc := range []struct {
		file, old, new, want string
	}{
		// The helper step's failure ends the run with the disk on the helper.
		{OOSInstance, "    OnError: detachFromHelper\n    Properties:\n      Service: ECS\n      API: RunCommand", "    Properties:\n      Service: ECS\n      API: RunCommand", "putting it back is never tried"},
		// A failed detach from the helper ends the run.
		{OOSInstance, "    OnError: deleteHelper\n    Retries: 3", "    OnError: ACS::END\n    Retries: 3", "never"},
		// The disk would be deleted with the helper.
		{OOSInstance, "      deleteWithInstance: false", "      deleteWithInstance: true", "deleted with the helper"},
		// The disk comes back as a data disk.
		{OOSInstance, "      bootable: true", "      bootable: false", "as a data disk"},
		// No snapshot first.
		{OOSInstance, "    Action: ACS::ECS::CreateSnapshot", "    Action: ACS::Sleep", "before its snapshot"},
		// A helper the user gave is deleted.
		{OOSInstance, "    When:\n      Fn::Equals:\n        - '{{ helperInstanceId }}'\n        - ''\n    OnError: attachBack", "    OnError: attachBack", "the helper the user gave is deleted"},
		// SSM: the helper step's failure aborts.
		{SSMInstance, "    timeoutSeconds: 3900\n    onFailure: step:DetachFromHelper", "    timeoutSeconds: 3900\n    onFailure: Abort", "never tried"},
		// SSM: the volume goes back to a non-root device.
		{SSMInstance, "      Device: '{{ DescribeInstance.RootDeviceName }}'", "      Device: /dev/sdg", "as a data disk"},
		// SSM: termination failure skips the attach back.
		{SSMInstance, "    maxAttempts: 3\n    onFailure: step:AttachBack", "    maxAttempts: 3\n    onFailure: Abort", "never tried"},
	} {
		build := oosGraph
		if tc.file == SSMInstance {
			build = ssmGraph
		}
		problems, _ := build(t, mutate(t, tc.file, tc.old, tc.new)).walk()
		found := false
		for _, p := range problems {
			if strings.Contains(p, tc.want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: changing %q to %q: the walk does not say %q (it says %d things)", tc.file, tc.old, tc.new, tc.want, len(problems))
		}
	}
}
