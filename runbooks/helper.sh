# ---- rescue helper step: the same in every template (runbooks/helper.sh) ----
# Runs on the helper as root through the cloud's agent, without a terminal.
# It downloads rescue, checks its SHA-256, runs it on the attached disk
# named by its cloud id (never a device name), uploads the report when a
# bucket is given, and prints one JSON document (rescue.runbook/v1):
# rescue's exit code and the findings left first, so that they survive an
# agent that cuts long output, then the report when it is small enough.
# Nothing goes to stderr: agents mix it into the output. The step exits 0
# when rescue did its job (scan: 0 or 4; fix: 0 or 1), else with rescue's
# exit code (8 when rescue could not be run at all), so that the runbook's
# task fails and its failure path runs.
set -u
umask 077
PATH=${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL
work=$(mktemp -d /var/tmp/rescue-step.XXXXXX) || exit 8
trap 'rm -rf "$work"' EXIT
exec 2>"$work/step.err"

# json_string prints its input as a JSON string: printable ASCII only, so
# that the document is valid whatever a message holds.
json_string() {
	tr '\t' ' ' | tr -c '\n -~' '?' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' |
		awk 'BEGIN { printf "\"" } NR > 1 { printf "\\n" } { printf "%s", $0 } END { printf "\"" }'
}

location=''
left=null
code=8
error=''

# finish prints the document and ends the step.
finish() {
	printf '{"schema":"rescue.runbook/v1","mode":"%s","disk":"%s","exit_code":%s,"findings_left":%s,"report_location":' \
		"$mode" "$disk" "$code" "$left"
	printf '%s' "$location" | json_string
	size=0
	[ -s "$work/report.json" ] && size=$(wc -c <"$work/report.json" | tr -d ' ')
	if [ "$size" -gt 0 ] && [ "$size" -le "$inline_max" ]; then
		printf ',"report":'
		cat "$work/report.json"
	else
		printf ',"report":null'
	fi
	printf ',"report_bytes":%s' "$size"
	if [ -n "$error" ]; then
		printf ',"error":'
		printf '%s' "$error" | head -c 600 | json_string
	fi
	if [ -s "$work/rescue.err" ]; then
		printf ',"stderr":'
		tail -c 600 "$work/rescue.err" | json_string
	fi
	printf '}\n'
	exit "$1"
}

# fail ends the step before rescue could run.
fail() {
	error=$1
	[ -s "$work/step.err" ] && error="$error: $(tail -n 3 "$work/step.err" | tr '\n' ' ')"
	code=8
	finish 8
}

# Parameters the template filled in: refuse anything that could change the
# meaning of a command or of the JSON above.
case $mode in scan | fix) ;; *) mode=scan disk=unknown fail "mode must be scan or fix" ;; esac
case $disk in '' | *[!A-Za-z0-9._-]*) disk=unknown fail "not a disk id" ;; esac
case $memory in '' | *[!0-9]*) fail "the instance's memory is not a number of MiB" ;; esac
release_sha256=$(printf '%s' "$release_sha256" | tr 'A-F' 'a-f')
case $release_sha256 in *[!0-9a-f]*) fail "the release SHA-256 is not hex" ;; esac
[ ${#release_sha256} -eq 64 ] || fail "the release SHA-256 must have 64 hex digits"
case $release_url in http://* | https://*) ;; *) fail "the release URL must be http(s)" ;; esac

fetch() {
	if command -v curl >/dev/null; then
		curl -fsS -L --retry 3 --connect-timeout 20 -o "$2" "$1"
	elif command -v wget >/dev/null; then
		wget -q -T 20 -t 3 -O "$2" "$1"
	elif command -v python3 >/dev/null; then
		python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$1" "$2"
	else
		echo "no curl, wget or python3 on the helper" >&2
		return 1
	fi
}

fetch "$release_url" "$work/rescue" || fail "downloading $release_url"
got=$(sha256sum "$work/rescue" | cut -d ' ' -f 1)
[ "$got" = "$release_sha256" ] || fail "the download from $release_url has SHA-256 $got, not $release_sha256: not running it"
chmod 700 "$work/rescue"

case $mode in
scan) set -- scan ;;
fix) set -- fix --apply --allow-fsck ;;
esac
"$work/rescue" "$@" --json --memory "${memory}M" "disk:$disk" </dev/null >"$work/report.json" 2>"$work/rescue.err"
code=$?
left=$(sed -n 's/^  "findings_left": \([0-9][0-9]*\),\{0,1\}$/\1/p' "$work/report.json" | head -n 1)
[ -n "$left" ] || left=null
case $code in
0 | 1 | 4 | 8 | 16) ;;
*)
	error="rescue exited with $code"
	code=8
	;;
esac
[ "$code" -ge 8 ] && [ -z "$error" ] && error=$(tail -n 1 "$work/rescue.err")

if [ -n "$report_bucket" ] && [ -s "$work/report.json" ]; then
	key="$report_prefix$disk-$(date -u +%Y%m%dT%H%M%SZ).json"
	if upload "$work/report.json" "$report_bucket" "$key"; then
		location="$report_url_scheme$report_bucket/$key"
	else
		error="${error:+$error; }uploading the report to $report_bucket failed"
	fi
fi

case $mode/$code in
scan/0 | scan/4 | fix/0 | fix/1) finish 0 ;;
*) finish "$code" ;;
esac
