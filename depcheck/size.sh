#!/bin/sh
# What each library of docs/dependencies.md would add to the rescue binary:
# the tracked tree is copied to a temp dir, the binary built as `make build`
# does, then built again once per library with a call into it from
# cmd/rescue (so the linker keeps what the call needs). Prints bytes added.
set -eu
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$top" ls-files | grep -v '^depcheck/' | tar -C "$top" -cf - -T - | tar -C "$tmp" -xf -
cd "$tmp"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
cp go.mod go.mod.orig
cp go.sum go.sum.orig
build() { go build -trimpath -ldflags '-s -w' -o "$1" ./cmd/rescue; }
build base
base=$(stat -c %s base)
echo "rescue binary: $base bytes"
# The versions measured are those depcheck/go.mod pins.
pinned() { awk -v m="$1" '$1 == m { print m "@" $2 }' "$top/depcheck/go.mod"; }
measure() {
	name=$1
	modules=$2
	shift 2
	cp go.mod.orig go.mod
	cp go.sum.orig go.sum
	printf 'package main\n\n%s\n' "$*" >cmd/rescue/zz_size.go
	for m in $modules; do go get "$(pinned "$m")" >/dev/null 2>&1; done
	go mod tidy >/dev/null 2>&1
	build "$name"
	echo "$name: +$(($(stat -c %s "$name") - base)) bytes"
}
measure go-diskfs-gpt github.com/diskfs/go-diskfs 'import ( "os"; "github.com/diskfs/go-diskfs/partition/gpt" )
func init() { if os.Getenv("ZZ") == "1" { gpt.Read(os.Stdin, 512, 512) } }'
measure go-diskfs-fat github.com/diskfs/go-diskfs 'import ( "os"; "github.com/diskfs/go-diskfs/backend/file"; "github.com/diskfs/go-diskfs/filesystem/fat32"; "github.com/diskfs/go-diskfs/filesystem/fat16"; "github.com/diskfs/go-diskfs/filesystem/fat12" )
func init() { if os.Getenv("ZZ") == "1" { b := file.New(os.Stdin, false); f, _ := fat32.Read(b, 1, 0, 512); f.Remove("x"); f.OpenFile("y", os.O_RDWR); g, _ := fat16.Read(b, 1, 0, 512); g.Remove("x"); h, _ := fat12.Read(b, 1, 0, 512); h.ReadDir("/") } }'
measure go-rpmdb 'github.com/knqyf263/go-rpmdb github.com/glebarez/go-sqlite' 'import ( "os"; rpmdb "github.com/knqyf263/go-rpmdb/pkg"; _ "github.com/glebarez/go-sqlite" )
func init() { if os.Getenv("ZZ") == "1" { d, _ := rpmdb.Open("x"); p, _ := d.ListPackages(); p[0].InstalledFiles() } }'
measure go-rpmutils github.com/sassoftware/go-rpmutils 'import ( "os"; "github.com/sassoftware/go-rpmutils" )
func init() { if os.Getenv("ZZ") == "1" { r, _ := rpmutils.ReadRpm(os.Stdin); p, _ := r.PayloadReaderExtended(); p.Next() } }'
measure renameio github.com/google/renameio/v2 'import ( "os"; "github.com/google/renameio/v2" )
func init() { if os.Getenv("ZZ") == "1" { renameio.WriteFile("x", nil, 0) } }'
measure go-multierror github.com/hashicorp/go-multierror 'import ( "os"; "github.com/hashicorp/go-multierror" )
func init() { if os.Getenv("ZZ") == "1" { println(multierror.Append(nil, os.ErrClosed).Error()) } }'
measure pkg-xattr github.com/pkg/xattr 'import ( "os"; "github.com/pkg/xattr" )
func init() { if os.Getenv("ZZ") == "1" { xattr.FList(os.Stdin); xattr.FGet(os.Stdin, "x") } }'
measure cavaliergopher-cpio github.com/cavaliergopher/cpio 'import ( "os"; "github.com/cavaliergopher/cpio" )
func init() { if os.Getenv("ZZ") == "1" { r := cpio.NewReader(os.Stdin); r.Next() } }'
