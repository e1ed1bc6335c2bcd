#!/bin/sh
# Install the Debian packages the tests use, when missing. Each area lists
# its packages in scripts/deps.d/*.txt (one or more per line, # comments).
# Needs root and apt-get; elsewhere it says what is missing, and the tests
# that need a missing tool skip with a message.
set -eu
cd "$(dirname "$0")"
pkgs=$(cat deps.d/*.txt 2>/dev/null | sed 's/#.*//' | tr -s ' \n' '  ')
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	echo "deps: missing Debian packages:$missing (not root or no apt-get: tests that need them will skip)" >&2
	exit 0
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends $missing >/dev/null
