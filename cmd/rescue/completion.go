package main

import (
	"strings"

	"github.com/spf13/cobra"

	"rescue/checks/all"
)

func (a *app) completionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script for bash, zsh or fish",
		Long: `Print a script that completes rescue's commands, flags and check names in
the given shell. The .deb and .rpm packages install it where each shell
looks for completions.`,
		Example: `  rescue completion bash > /etc/bash_completion.d/rescue
  rescue completion zsh > "${fpath[1]}/_rescue"
  rescue completion fish > ~/.config/fish/completions/rescue.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.stdout, true)
			case "zsh":
				return root.GenZshCompletion(a.stdout)
			case "fish":
				return root.GenFishCompletion(a.stdout, true)
			}
			return usagef("completion: unknown shell %q (bash, zsh or fish)", args[0])
		},
	}
}

// registerCompletions teaches the shells what cobra cannot see: check
// names for --checks and --only (comma-separated lists, "-name" to leave
// one out) and for rescue explain.
func registerCompletions(root *cobra.Command) {
	names := func(prefix string) []string {
		var out []string
		for _, c := range all.Checks() {
			out = append(out, prefix+c.Name)
		}
		return out
	}
	list := func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		// Complete the last element of a comma-separated list.
		done, last := "", toComplete
		if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
			done, last = toComplete[:i+1], toComplete[i+1:]
		}
		prefix := ""
		if strings.HasPrefix(last, "-") {
			prefix = "-"
		}
		var out []string
		for _, n := range append([]string{"all"}, names("")...) {
			if prefix == "-" && n == "all" {
				continue
			}
			out = append(out, done+prefix+n)
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	for _, c := range root.Commands() {
		for _, flag := range []string{"checks", "only"} {
			if c.Flags().Lookup(flag) != nil {
				_ = c.RegisterFlagCompletionFunc(flag, list)
			}
		}
		if c.Name() == "explain" {
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return names(""), cobra.ShellCompDirectiveNoFileComp
			}
		}
	}
}
