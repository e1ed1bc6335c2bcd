// Package access plans `rescue reset-access`: the cloud's "reset password"
// or "inject key" for a machine nobody can enter. It edits the account's
// shadow entry (new crypt hash, last change today, an expiry date in the
// past removed; for a key-only reset without PAM, a locked field made
// "no password"), adds public keys to the file sshd reads first with the
// modes and owner sshd's StrictModes insists on, and clears pam_tally2's
// persistent count of failed logins. What stands in the way of a login
// and is policy (PermitRootLogin, PasswordAuthentication, a nologin
// shell) is reported, never changed. The result is one repair.Fix, so
// the change is shown as a diff, journaled and undone like any repair.
package access
