#!/bin/sh
# make demo: copy the broken example root (testdata/demo) to a temporary
# directory, set the modes git cannot store, then show what rescue finds
# and the repair it would make. Nothing outside the temporary directory is
# touched, and the fix is a dry run.
set -eu
rescue=${1:-bin/rescue}
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/rescue-demo.XXXXXX")
cp -a "$top/testdata/demo/root" "$dir/root"
find "$dir/root" -name .keep -delete
chmod 0755 "$dir/root"
chmod -R 0777 "$dir/root/etc/ssh"       # the seed's chmod -R 777 /etc/ssh
chmod 0700 "$dir/root/root" "$dir/root/root/.ssh"
chmod 0600 "$dir/root/root/.ssh/authorized_keys"
chmod 0640 "$dir/root/etc/shadow" "$dir/root/etc/gshadow"
chmod 0755 "$dir/root/usr/bin/bash" "$dir/root/usr/sbin/nologin"
ln -s usr/bin "$dir/root/bin"

echo "== rescue scan $dir/root (a broken Debian 12 root, 2 GB instance)"
status=0
"$rescue" scan "$dir/root" --memory 2G --devices "$top/testdata/demo/devices" --root-device /dev/vdb1 || status=$?
echo "(exit code $status: 4 means findings)"
echo
echo "== rescue fix $dir/root   (dry run: the repair as a diff; nothing is written)"
status=0
"$rescue" fix "$dir/root" --memory 2G --devices "$top/testdata/demo/devices" --root-device /dev/vdb1 || status=$?
echo "(exit code $status)"
echo
echo "To repair it:  $rescue fix $dir/root --memory 2G --devices testdata/demo/devices --root-device /dev/vdb1 --apply"
echo "Then:          $rescue undo $dir/root   (puts everything back)"
