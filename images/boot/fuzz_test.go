package boot

import (
	"testing"
	"time"
)

// FuzzWatcher feeds arbitrary console output, split at an arbitrary point,
// to the watcher: whatever a broken guest prints, the watcher must not
// panic and must end with a class.
func FuzzWatcher(f *testing.F) {
	f.Add([]byte(bootNoise+"rescue-test login: "), []byte("root\r\nPassword: "), uint8(3))
	f.Add([]byte("Kernel panic - not syncing: VFS"), []byte(""), uint8(0))
	f.Add([]byte("(initramfs) "), []byte("MARK42END STATE=x RW=y FAILED=ENDSTATE"), uint8(200))
	f.Fuzz(func(t *testing.T, a, b []byte, ticks uint8) {
		w := NewWatcher("root", "root")
		w.Idle = time.Minute
		now := time.Duration(0)
		for _, chunk := range [][]byte{a, nil, b} {
			act := w.Step(now, chunk)
			if act.ReadVGA {
				w.VGA(DecodeVGA(a))
			}
			for i := 0; i < int(ticks); i++ {
				now += time.Second
				w.Step(now, nil)
			}
		}
		if r := w.Result(now); r.Class == "" {
			t.Fatal("no class")
		}
	})
}

// FuzzDecodeVGA checks that any dump decodes into 80-column lines.
func FuzzDecodeVGA(f *testing.F) {
	f.Add([]byte("g\x07r\x07u\x07b\x07>\x07"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, l := range DecodeVGA(raw) {
			if len(l) > 80 {
				t.Fatalf("line of %d columns", len(l))
			}
		}
	})
}
