package facts

import (
	"sync"

	"rescue/facts/ldso"
)

// loaderState caches the dynamic loader model.
type loaderState struct {
	once   sync.Once
	loader *ldso.Loader
}

// Loader returns the target's dynamic loader model: the directories
// /etc/ld.so.conf and its includes name (read once; what could not be read
// is in its Problems), and the library lookups ld.so would make. Every check
// that resolves libraries shares it; it is safe for concurrent use.
func (f *Facts) Loader() *ldso.Loader {
	f.note(DynamicLoader)
	f.loader.once.Do(func() { f.loader.loader = ldso.New(f.root) })
	return f.loader.loader
}
