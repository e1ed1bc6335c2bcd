// Command rescue-release builds a release of rescue (make release): static
// linux/amd64 and linux/arm64 binaries, .deb and .rpm packages and
// SHA256SUMS, in the directory -out.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"rescue/release"
)

func main() {
	out := flag.String("out", "dist", "write the release into `DIR`")
	version := flag.String("version", "", "the `VERSION` stamped into the binaries (git describe)")
	arches := flag.String("arch", "amd64,arm64", "comma-separated Go architectures")
	flag.Parse()
	rel, err := release.Build(context.Background(), release.Options{
		Repo: ".", Out: *out, Version: *version, Arches: strings.Split(*arches, ","), Packages: true,
		Log: func(format string, args ...any) { fmt.Fprintf(os.Stderr, "release: "+format+"\n", args...) },
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "rescue-release: error: %v\n", err)
		os.Exit(1)
	}
	for _, a := range rel.Artifacts {
		if a.Kind == "checksums" {
			fmt.Printf("checksums of the above in %s\n", a.Path)
			continue
		}
		fmt.Printf("%s  %s\n", a.SHA256, a.Path)
	}
}
