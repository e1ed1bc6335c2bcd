// Package depcheck holds the measurements behind docs/dependencies.md: each
// test runs a library the design card names on real input (images made by
// sfdisk and mkfs.fat, databases written by rpm, a hostile target root) and
// asserts what the library does today where rescue keeps its own code.
//
// It is a module of its own so that the libraries it measures stay out of
// rescue's go.mod, its go.sum and CI: `make depcheck` runs it on demand.
// A test that fails means the library changed: its message says which
// decision in docs/dependencies.md to revisit. To re-measure a newer
// version, `go get` it in this directory and run `make depcheck`.
package depcheck
