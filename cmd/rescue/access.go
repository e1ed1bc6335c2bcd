package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"rescue/actions/access"
	"rescue/facts"
	"rescue/repair"
	"rescue/report"
	"rescue/session"
)

// accessOptions are the flags of rescue reset-access.
type accessOptions struct {
	target        targetOptions
	run           actionRunOptions
	user          string
	passwordHash  string
	passwordStdin bool
	sshKey        string
}

func (a *app) resetAccessCommand() *cobra.Command {
	o := &accessOptions{}
	cmd := &cobra.Command{
		Use:   "reset-access TARGET --user NAME (--password-hash HASH | --password-stdin | --ssh-key FILE)",
		Short: "Give an existing account a new password or SSH key",
		Long: `Reset the access of an existing account on a machine nobody can enter, as a
cloud's "reset password" or "inject key" does: set a new password (a crypt
hash, or a password read from standard input and hashed with SHA-512),
authorize an SSH public key, or both.

With a password: the shadow entry gets the new hash and today as the date
of the last change, which also unlocks a locked password ('!'), clears a
forced change at next login and an expired password. With a key: the key
is added to the file sshd reads first (AuthorizedKeysFile, by default
~/.ssh/authorized_keys), creating it and ~/.ssh with the modes and owner
sshd insists on, and correcting modes that make sshd ignore them. Either
way an account expiry date in the past is removed, and pam_tally2's count
of failed logins is cleared. On an SELinux system a relabel is scheduled
for the files created. What still stands in the way of a login and is
policy (sshd refusing passwords for root, a nologin shell) is reported,
not changed.

Like fix, reset-access shows the change as a diff and changes nothing
unless --apply; with --apply it is journaled, and "rescue undo" takes it
back.

Exit status: 0 when the reset was shown or applied, 8 when it could not be
planned or applied, 16 for a usage error.`,
		Example: `  rescue reset-access /mnt/broken --user root --password-hash "$(openssl passwd -6)"
  printf '%s\n' "$NEWPW" | rescue reset-access /dev/vdb --user root --password-stdin --apply
  rescue reset-access /dev/vdb --user ec2-user --ssh-key ~/.ssh/id_ed25519.pub --apply`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runResetAccess(cmd.Context(), args[0], o)
		},
	}
	o.target.addFlags(cmd)
	o.run.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.user, "user", "", "the account to give access to (`NAME`, as in the target's /etc/passwd)")
	f.StringVar(&o.passwordHash, "password-hash", "", "set this crypt `HASH` as the password (openssl passwd -6 makes one)")
	f.BoolVar(&o.passwordStdin, "password-stdin", false, "read the new password from standard input (one line) and set its SHA-512 crypt hash")
	f.StringVar(&o.sshKey, "ssh-key", "", "authorize the public key(s) in `FILE` (an id_*.pub file)")
	return cmd
}

func (a *app) runResetAccess(ctx context.Context, arg string, o *accessOptions) error {
	if o.user == "" {
		return usagef("--user is required")
	}
	if o.passwordHash != "" && o.passwordStdin {
		return usagef("give --password-hash or --password-stdin, not both")
	}
	if o.passwordHash == "" && !o.passwordStdin && o.sshKey == "" {
		return usagef("give a new password (--password-hash or --password-stdin), a key (--ssh-key), or both")
	}
	ao := access.Options{User: o.user, PasswordHash: o.passwordHash}
	method := ""
	if o.passwordHash != "" {
		m, err := access.CheckHash(o.passwordHash)
		if err != nil {
			return usagef("--password-hash: %v", err)
		}
		method = m
	}
	if o.passwordStdin {
		pw, err := a.readPassword()
		if err != nil {
			return err
		}
		salt, err := access.NewSalt()
		if err != nil {
			return err
		}
		ao.PasswordHash, method = access.SHA512Crypt(pw, salt, 0), "6"
	}
	if o.sshKey != "" {
		data, err := os.ReadFile(o.sshKey)
		if err != nil {
			return usagef("--ssh-key: %v", err)
		}
		ao.Keys = data
	}
	return a.runAction(ctx, arg, o.target, o.run, func(t *session.Target, f *facts.Facts) ([]repair.Candidate, []report.Action, error) {
		if method != "" {
			if err := access.CheckMethod(t.Root, method); err != nil {
				return nil, nil, err
			}
		}
		res, err := access.Plan(t.Root, ao)
		if err != nil {
			return nil, nil, err
		}
		return []repair.Candidate{{Finding: access.Finding, Stage: repair.StageLogin, Fix: res.Fix}},
			[]report.Action{{Name: "reset-access", Changes: res.Changes, Notes: res.Notes}}, nil
	})
}

// readPassword reads one line from standard input, without echo when it is
// a terminal.
func (a *app) readPassword() (string, error) {
	if f, ok := a.stdin.(*os.File); ok {
		if old, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			fmt.Fprint(a.stderr, "New password: ")
			noEcho := *old
			noEcho.Lflag &^= unix.ECHO
			if err := unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, &noEcho); err == nil {
				defer func() {
					unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, old)
					fmt.Fprintln(a.stderr)
				}()
			}
		}
	}
	line, err := bufio.NewReader(io.LimitReader(a.stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", usagef("--password-stdin: standard input held no password")
	}
	return line, nil
}
