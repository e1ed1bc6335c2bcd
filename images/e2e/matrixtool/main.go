// Command matrixtool plans and tabulates the boot proof's release matrix
// for `make e2e` and `make e2e-full` (scripts/e2e-matrix.sh):
//
//	matrixtool plan [-day N] [-rotate K] [-full] SUITE=SET...
//	matrixtool table -o FILE DIR...
//
// plan prints one line per release to run, "SUITE SET", Debian 12 first:
// SET is the release's fixed set ("all", or scenario names) with the
// day's rotation over the rest of the matrix added (-rotate cells a day),
// or with -full every scenario that applies to the release ("full" for
// Debian 12, whose full set also holds the runbook rows). A release given
// an empty set runs only its rotation cells, if any. table reads each
// DIR/table.json and writes the scenario × release table to FILE.
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"rescue/images"
	"rescue/images/e2e"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: matrixtool plan|table …")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "plan":
		err = plan(os.Args[2:])
	case "table":
		err = table(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (want plan or table)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "matrixtool:", err)
		os.Exit(1)
	}
}

func plan(args []string) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	day := fs.Int("day", int(time.Now().UTC().Unix()/86400), "days since the Unix epoch (UTC)")
	rotate := fs.Int("rotate", 0, "matrix cells outside the fixed sets to add today")
	full := fs.Bool("full", false, "every scenario on every release it applies to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lines, err := Plan(*day, *rotate, *full, fs.Args())
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	return nil
}

// Plan computes the lines plan prints.
func Plan(day, rotate int, full bool, sets []string) ([]string, error) {
	fixed := map[string][]string{}
	given := map[string]string{}
	for _, a := range sets {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want SUITE=SET", a)
		}
		rel, ok := images.LookupRelease(k)
		if !ok {
			return nil, fmt.Errorf("%q: unknown release", k)
		}
		given[rel.Suite] = v
		names, err := names(v, rel.Suite)
		if err != nil {
			return nil, err
		}
		fixed[rel.Suite] = names
	}
	var out []string
	if full {
		for _, rel := range runOrder() {
			if rel == images.Bookworm {
				out = append(out, rel.Suite+" full")
				continue
			}
			var list []string
			for _, c := range e2e.MatrixCells(true) {
				if c.Suite == rel.Suite {
					list = append(list, c.Scenario)
				}
			}
			out = append(out, rel.Suite+" "+strings.Join(list, ","))
		}
		return out, nil
	}
	// The rotation is over the matrix outside CI's fixed sets, whatever
	// narrower set a run gives Debian 12: so a day's cells are the same
	// in CI and in a narrow run by hand.
	rotFixed := map[string][]string{}
	for k, v := range fixed {
		rotFixed[k] = v
	}
	rotFixed[images.Bookworm.Suite], _ = names("all", images.Bookworm.Suite)
	extra := e2e.MatrixRotation(day, rotate, rotFixed)
	for _, rel := range runOrder() {
		set := given[rel.Suite]
		if set == "all" || set == "full" {
			out = append(out, rel.Suite+" "+set)
			continue
		}
		list := append([]string{}, fixed[rel.Suite]...)
		for _, c := range extra {
			if c.Suite == rel.Suite && !slices.Contains(list, c.Scenario) {
				list = append(list, c.Scenario)
			}
		}
		if len(list) > 0 {
			out = append(out, rel.Suite+" "+strings.Join(list, ","))
		}
	}
	return out, nil
}

// runOrder is the order of the runs: Debian 12 first, the proof's main
// release and the one CI reads first, then the others in version order.
func runOrder() []images.Release {
	out := []images.Release{images.Bookworm}
	for _, r := range images.Releases {
		if r != images.Bookworm {
			out = append(out, r)
		}
	}
	return out
}

// names lists the scenarios of a set on a release ("all": every one that
// is not Full; "" none).
func names(set, suite string) ([]string, error) {
	if strings.TrimSpace(set) == "" || set == "none" {
		return nil, nil
	}
	list, err := e2e.Lookup(set)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, sc := range list {
		if ok, why := sc.Applies(suite); !ok {
			return nil, fmt.Errorf("%s does not apply to %s: %s", sc.Name, suite, why)
		}
		out = append(out, sc.Name)
	}
	return out, nil
}

func table(args []string) error {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	out := fs.String("o", "", "the matrix file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ts []*e2e.Table
	for _, dir := range fs.Args() {
		f, err := os.Open(dir + "/table.json")
		if os.IsNotExist(err) {
			fmt.Fprintf(os.Stderr, "matrixtool: %s has no table.json (the run did not finish): left out\n", dir)
			continue
		}
		if err != nil {
			return err
		}
		t, err := e2e.ReadTable(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		ts = append(ts, t)
	}
	if len(ts) == 0 {
		return fmt.Errorf("no table.json in %s", strings.Join(fs.Args(), ", "))
	}
	w := os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return e2e.MergeTables(ts...).WriteMatrix(w)
}
