package clouddisk

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func needFUSE(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root: the disk is mounted with mount(2)")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse: the kernel has no FUSE")
	}
}

// The served file holds the image's bytes, each request waits the latency,
// and many requests in flight are served no faster than the IOPS cap.
func TestModel(t *testing.T) {
	needFUSE(t)
	img := filepath.Join(t.TempDir(), "disk.img")
	data := make([]byte, 4<<20)
	rand.Read(data)
	require.NoError(t, os.WriteFile(img, data, 0o644))
	m := Model{Latency: 20 * time.Millisecond, IOPS: 200, IOSize: 64 << 10, QueueDepth: 32}
	d, err := Serve(img, m)
	require.NoError(t, err)
	defer d.Close()

	f, err := os.OpenFile(d.Path, os.O_RDONLY|unix.O_DIRECT, 0)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 64<<10)
	start := time.Now()
	_, err = f.ReadAt(buf, 1<<20)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), m.Latency, "one read waits the latency")
	require.True(t, bytes.Equal(data[1<<20:1<<20+len(buf)], buf), "the served bytes are the image's")

	// 40 reads of one operation each, all at once: the latency alone
	// would allow 20 ms; the cap of 200 per second needs 200 ms.
	before := d.Stats()
	start = time.Now()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 64<<10)
			f.ReadAt(b, int64(i)*int64(len(b)))
		}()
	}
	wg.Wait()
	took := time.Since(start)
	after := d.Stats()
	require.Equal(t, int64(40), after.Operations-before.Operations)
	require.GreaterOrEqual(t, took, 190*time.Millisecond, "the IOPS cap holds")
	require.Greater(t, after.MaxInFlight, int64(4), "requests are served concurrently")
	t.Logf("40 reads in %s, at most %d in flight", took, after.MaxInFlight)
}
