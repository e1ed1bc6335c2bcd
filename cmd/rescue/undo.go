package main

import (
	"context"

	"github.com/spf13/cobra"

	"rescue/repair"
	"rescue/report"
)

type undoOptions struct {
	target     targetOptions
	journalDir string
	force      bool
	json       bool
}

func (a *app) undoCommand() *cobra.Command {
	o := &undoOptions{}
	cmd := &cobra.Command{
		Use:   "undo TARGET [ID]",
		Short: "Take back the last (or the named) repair",
		Long: `Restore every file the repair changed to what it was before: content byte
for byte, mode, owner, extended attributes and mtime. Every file is checked
first; if one changed after the repair, undo refuses and changes nothing,
unless --force. "rescue history" lists the repairs and their IDs.`,
		Example: `  rescue undo /mnt/broken
  rescue undo /dev/vdb 20261123-141200-a1b2c3`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 2 {
				id = args[1]
			}
			return a.runUndo(cmd.Context(), args[0], id, o)
		},
	}
	o.target.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.journalDir, "journal-dir", "", "the journal `DIR` given to fix --journal-dir")
	f.BoolVar(&o.force, "force", false, "restore files that changed after the repair too, losing those changes")
	f.BoolVar(&o.json, "json", false, "print the outcome as JSON (schema rescue.undo/v1)")
	return cmd
}

func (a *app) runUndo(ctx context.Context, arg, id string, o *undoOptions) error {
	t, err := a.openTarget(ctx, arg, o.target, true)
	if err != nil {
		return err
	}
	defer a.closeTarget(t)
	res, err := repair.Undo(t.Root, repair.UndoOptions{JournalDir: o.journalDir, ID: id, Force: o.force, Disk: t.Info.Device, Log: a.log})
	if res == nil {
		return err
	}
	// Undo that restored some paths and not others (a spilled file with
	// no room left for it) still says what it did to each: the failed
	// ones are named, and the exit code is 8.
	if o.json {
		if werr := report.WriteUndo(a.stdout, res); err == nil {
			err = werr
		}
		return err
	}
	report.WriteUndoText(a.stdout, res)
	return err
}

type historyOptions struct {
	target     targetOptions
	journalDir string
	json       bool
}

func (a *app) historyCommand() *cobra.Command {
	o := &historyOptions{}
	cmd := &cobra.Command{
		Use:     "history TARGET",
		Short:   "List the repairs applied to the target, newest first",
		Example: "  rescue history /mnt/broken",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runHistory(cmd.Context(), args[0], o)
		},
	}
	o.target.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.journalDir, "journal-dir", "", "the journal `DIR` given to fix --journal-dir")
	f.BoolVar(&o.json, "json", false, "print the journals as JSON (schema rescue.history/v1)")
	return cmd
}

func (a *app) runHistory(ctx context.Context, arg string, o *historyOptions) error {
	t, err := a.openTarget(ctx, arg, o.target, false)
	if err != nil {
		return err
	}
	defer a.closeTarget(t)
	js, err := repair.History(t.Root, o.journalDir)
	if err != nil {
		return err
	}
	if o.json {
		return report.WriteHistory(a.stdout, js)
	}
	return report.WriteHistoryText(a.stdout, js)
}
