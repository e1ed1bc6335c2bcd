package session

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"rescue/evidence"
	"rescue/facts"
)

// maxConsole bounds a console capture: the clouds hand out 64 KiB (Alibaba
// Cloud, AWS) to 1 MiB (Google) at a time, base64 or JSON around it.
const maxConsole = 64 << 20

// LastBoot reads what the target's logs (and the console capture at
// consolePath, when given) say about its last boot, and the facts about the
// machine the checks take from it.
func (t *Target) LastBoot(consolePath string) (*evidence.Report, *facts.Machine, error) {
	opt := evidence.Options{}
	if consolePath != "" {
		data, err := readConsole(consolePath)
		if err != nil {
			return nil, nil, err
		}
		opt.Console, opt.ConsoleName = data, filepath.Base(consolePath)
	}
	lb := evidence.Read(t.Root, opt)
	for _, b := range lb.Boots {
		t.log.Info("last boot", "source", b.Source, "boot", b.Boot, "class", b.Class, "reached", b.Reached, "lines", b.Lines)
	}
	m := lb.Machine
	var fm *facts.Machine
	if m.Memory != nil || m.DiskBus != nil || m.NICs != nil {
		fm = &facts.Machine{}
		if m.Memory != nil {
			fm.Memory, fm.MemoryFrom = m.Memory.Bytes, m.Memory.From
		}
		if m.DiskBus != nil {
			fm.DiskBus, fm.DiskBusFrom = m.DiskBus.Value, m.DiskBus.From
		}
		if m.NICs != nil {
			fm.NICs, fm.NICsFrom = strings.Split(m.NICs.Value, ","), m.NICs.From
		}
	}
	return lb, fm, nil
}

// readConsole reads a console capture given with --console ("-": stdin is
// not taken, as runbooks pipe nothing to rescue).
func readConsole(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, WithHint(fmt.Errorf("reading --console: %w", err), "give the file that `aliyun ecs GetInstanceConsoleOutput`, `aws ec2 get-console-output` or `gcloud compute instances get-serial-port-output` wrote")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConsole+1))
	if err != nil {
		return nil, fmt.Errorf("reading --console %s: %w", p, err)
	}
	if len(data) > maxConsole {
		return nil, fmt.Errorf("--console %s: larger than %d MiB; a console capture is far smaller", p, maxConsole>>20)
	}
	return data, nil
}
