package boot

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chunkEnd splits a transcript where a read from the console would end: at
// line ends and after the prompts that wait for input.
var chunkEnd = regexp.MustCompile(`\n|login: |Password: |[#$] `)

// TestReplayRealTranscripts replays serial transcripts recorded from real
// boots of the Debian 12 test image (testdata/CLASS--NAME.log.gz) and checks
// that the watcher classifies each as it was classified live. The
// transcript holds what the harness typed, echoed by the guest, so the
// watcher walks through the same login steps; it is fed one read at a time
// with the console quiet in between.
func TestReplayRealTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.log.gz")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded transcripts")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".log.gz")
		class, _, ok := strings.Cut(name, "--")
		require.True(t, ok, "name %s: want CLASS--NAME.log.gz", name)
		t.Run(name, func(t *testing.T) {
			r := replay(gunzip(t, f), NewWatcher("root", "root"))
			assert.Equal(t, Class(class), r.Class, "why: %s", r.Why)
		})
	}
}

// replay feeds a transcript to w one read at a time, with the console
// quiet in between, and returns the outcome.
func replay(data []byte, w *Watcher) *Result {
	now := time.Duration(0)
	done := false
	step := func(b []byte) {
		a := w.Step(now, b)
		if a.ReadVGA {
			a = w.VGA(nil)
		}
		done = done || a.Done
	}
	for len(data) > 0 && !done {
		n := len(data)
		if loc := chunkEnd.FindIndex(data); loc != nil {
			n = loc[1]
		}
		step(data[:n])
		data = data[n:]
		for i := 0; i < 6 && !done; i++ {
			now += 250 * time.Millisecond
			step(nil)
		}
	}
	for i := 0; i < 400 && !done; i++ {
		now += 250 * time.Millisecond
		step(nil)
	}
	return w.Result(now)
}

// TestReplayFurtherLogin replays a real boot in which root and then the
// ordinary user logged in on the console: the watcher walks through the
// logout and the second login, and reads what the user's session said.
func TestReplayFurtherLogin(t *testing.T) {
	w := NewWatcher("root", "root")
	w.Extra = []Login{{User: "debian", Password: "debian"}}
	r := replay(gunzip(t, "testdata/LOGGED_IN--baseline-user-login.log.gz"), w)
	assert.Equal(t, LoggedIn, r.Class, r.Why)
	assert.True(t, r.Healthy(), r.Short())
	require.Len(t, r.Logins, 2)
	assert.Equal(t, LoginResult{User: "debian", Via: ViaSerial, Class: LoggedIn, Who: "debian", NoFile: "1024"}, r.Logins[1])
}

func gunzip(t *testing.T, path string) []byte {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	z, err := gzip.NewReader(f)
	require.NoError(t, err)
	var b bytes.Buffer
	_, err = io.Copy(&b, z)
	require.NoError(t, err)
	return b.Bytes()
}
