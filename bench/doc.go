// Package bench holds `make bench`: rescue verify against rpm -Va and
// debsums, and rescue scan, on the same trees in the same run, with warm
// caches, on the local disk with caches dropped, and on a cold cloud-like
// disk (images/clouddisk), with the growth of the cost per file. The
// benchmark is a test built with the bench tag:
//
//	go test -tags bench -run TestBench -v -timeout 90m ./bench/
package bench
