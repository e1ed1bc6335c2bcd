package boot

import (
	"strings"
	"testing"
)

func TestHelperArgs(t *testing.T) {
	o := HelperOptions{Options: Options{Image: "/c/helper.img", Snapshot: true}, Guest: "10.0.2.100:80", Host: "127.0.0.1:4000",
		Disks: []Disk{{Image: "/w/broken.img", Serial: "d-bp1abcdef0123456789"}, {Image: "/w/vol.img", Serial: "vol0123456789abcdef0", Bus: "nvme"}}}
	o.defaults()
	args, err := helperArgs(o, "")
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(args, " ")
	for _, want := range []string{
		"-drive file=/c/helper.img,format=raw,if=none,id=helperroot,snapshot=on -device virtio-blk-pci,drive=helperroot,bootindex=0",
		"-nic user,model=virtio-net-pci,restrict=on,guestfwd=tcp:10.0.2.100:80-cmd:socat - TCP:127.0.0.1:4000",
		"-drive file=/w/broken.img,format=raw,if=none,id=disk0 -device virtio-blk-pci,drive=disk0,serial=d-bp1abcdef0123456789",
		"-drive file=/w/vol.img,format=raw,if=none,id=disk1 -device nvme,drive=disk1,serial=vol0123456789abcdef0",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("no %q in\n%s", want, line)
		}
	}
	if strings.Contains(line, "-nic none") {
		t.Errorf("the helper has no network: %s", line)
	}
	o.Disks[0].Serial = "a,b"
	if _, err := helperArgs(o, ""); err == nil {
		t.Error("a comma in a serial reached qemu's command line")
	}
}
