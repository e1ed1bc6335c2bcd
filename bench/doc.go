// Package bench holds `make bench`: rescue verify against rpm -Va and
// debsums, and rescue scan, on the same trees in the same run, with warm
// caches, on the local disk with caches dropped, and on a cold cloud-like
// disk (images/clouddisk), with the growth of the cost per file. The
// benchmark is a test built with the bench tag:
//
//	go test -tags bench -run TestBench -v -timeout 90m ./bench/
//
// A cold run models a helper VM with the broken disk just attached: every
// cache is dropped, then the files each tool opened outside the tree in an
// earlier run (its program, libraries, perl modules, rpm's macros, as strace
// saw them) are read back. The helper's own tools are warm; the disk under
// the tree is not.
package bench
