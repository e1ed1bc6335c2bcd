package rpmdb

import (
	"testing"
)

// BenchmarkParse reads every real database of testdata/rpmdb and every
// file record of every package in it: what a scan pays before verify
// touches the disk.
func BenchmarkParse(b *testing.B) {
	for _, tc := range realDBs {
		data := testDB(b, tc.dir, tc.file)
		b.Run(tc.dir, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			files := 0
			for b.Loop() {
				db, err := Parse(tc.format, data, nil)
				if err != nil {
					b.Fatal(err)
				}
				files = 0
				for _, p := range db.Packages {
					files += len(p.Files())
				}
			}
			b.ReportMetric(float64(files), "files")
		})
	}
}
