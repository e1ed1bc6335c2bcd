#!/bin/sh
# The boot proof's release matrix, for `make e2e` (MODE ci) and `make
# e2e-full` (MODE full): one run of the e2e test per Debian release, as
# images/e2e/matrixtool plans them, each with its table in its own
# directory (Debian 12's in E2E_OUT, the others' in E2E_OUT-debianNN), then
# the scenario × release table of all of them in E2E_OUT/matrix.md, printed
# last. Every release runs even when an earlier one failed; the exit status
# is 1 when any did. The Makefile passes GO, MAKE and the E2E_* variables.
set -u
mode=${1:-ci}
cd "$(dirname "$0")/.." || exit 2
tool=$(mktemp)
trap 'rm -f "$tool"' EXIT
$GO build -o "$tool" ./images/e2e/matrixtool || exit 2
if [ "$mode" = full ]; then
	plan=$("$tool" plan -full) || exit 2
	timeout=240m
else
	plan=$("$tool" plan -rotate "$E2E_MATRIX_ROTATE" bookworm="$E2E_SET" bullseye="$E2E_SET_11" trixie="$E2E_SET_13") || exit 2
	timeout=$E2E_TIMEOUT
fi
echo "e2e matrix ($mode), one run per release:"
echo "$plan" | sed 's/^/  /'
rc=0
dirs=
nl='
'
IFS=$nl
for line in $plan; do
	suite=${line%% *}
	set=${line#* }
	out=$E2E_OUT
	flavors=$E2E_FLAVORS
	case $suite in
	bullseye) out=$E2E_OUT-debian11 ;;
	trixie) out=$E2E_OUT-debian13 ;;
	esac
	# make e2e boots the other releases on the MBR image only; e2e-full
	# boots every flavor of every release.
	if [ "$suite" != bookworm ] && [ "$mode" != full ]; then
		flavors=none
	fi
	echo "== $suite: $set"
	$MAKE --no-print-directory e2e-release E2E_RELEASE="$suite" E2E_SET="$set" E2E_OUT="$out" \
		E2E_FLAVORS="$flavors" E2E_TIMEOUT="$timeout" || rc=1
	dirs="$dirs$nl$out"
done
unset IFS
# shellcheck disable=SC2086 # the directories are one a line
mkdir -p "$E2E_OUT"
(IFS=$nl; "$tool" table -o "$E2E_OUT/matrix.md" $dirs) || rc=1
echo
echo "scenario × release ($E2E_OUT/matrix.md):"
cat "$E2E_OUT/matrix.md" 2>/dev/null
exit $rc
