package facts

import (
	"sync"

	"rescue/facts/pamstack"
)

// PAMStacks is the target's PAM configuration as libpam reads it: service
// files resolved in /etc/pam.d, /usr/lib/pam.d and /usr/etc/pam.d, and the
// stack of each service and type flattened (PAMStacks, package
// facts/pamstack).
const PAMStacks Fact = "pam-stacks"

// pamState caches the PAM configuration.
type pamState struct {
	once   sync.Once
	config *pamstack.Config
}

// PAMStacks returns the target's PAM configuration: every check that asks
// what login or sshd run through PAM shares it, so each file is read and
// each stack flattened once per scan; it is safe for concurrent use.
func (f *Facts) PAMStacks() *pamstack.Config {
	f.note(PAMStacks)
	f.pam.once.Do(func() { f.pam.config = pamstack.New(f.root) })
	return f.pam.config
}
