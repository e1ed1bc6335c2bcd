package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"rescue/checks/all"
	"rescue/report"
)

func (a *app) checksCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "checks",
		Short: "List the checks with one-line summaries",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				return report.WriteChecksJSON(a.stdout, all.Checks())
			}
			return report.WriteChecksText(a.stdout, all.Checks())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the list as JSON")
	return cmd
}

func (a *app) explainCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "explain CHECK",
		Short:   "Print a check's documentation, with a before/after example",
		Example: "  rescue explain fstab",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := all.Lookup(args[0])
			if doc, ok := all.Families()[args[0]]; ok && c == nil {
				fmt.Fprintf(a.stdout, "%s: %s\n", args[0], strings.TrimSpace(doc))
				return nil
			}
			if c == nil {
				var names []string
				for _, c := range all.Checks() {
					names = append(names, c.Name)
				}
				return usagef("no check %q; the checks are: %s", args[0], strings.Join(names, ", "))
			}
			fmt.Fprintf(a.stdout, "%s: %s\n", c.Name, strings.TrimSpace(c.Doc))
			return nil
		},
	}
}
