#!/usr/bin/env bash
# Icinga 2 notification command: posts a host or service state change to srebot's generic alert
# endpoint (POST /api/v1/alerts/generic). See README.md ("Alerts") for the NotificationCommand.
#
# Usage (Icinga passes these as arguments; see the README example):
#   icinga2-srebot-notification.sh -u URL -t TOKEN_FILE -n NOTIFICATIONTYPE -H HOST [-s SERVICE]
#       -S STATE [-o OUTPUT] [-l LINK] [-v SEVERITY]
# NOTIFICATIONTYPE PROBLEM is sent as firing, RECOVERY as resolved; other types (ACKNOWLEDGEMENT,
# DOWNTIMESTART, FLAPPING…) are not state changes and are skipped. The token is read from a
# file so it never shows in the process list.
set -euo pipefail

url='' token_file='' type='' host='' service='' state='' output='' link='' severity=''
while getopts 'u:t:n:H:s:S:o:l:v:' opt; do
    case $opt in
        u) url=$OPTARG ;;
        t) token_file=$OPTARG ;;
        n) type=$OPTARG ;;
        H) host=$OPTARG ;;
        s) service=$OPTARG ;;
        S) state=$OPTARG ;;
        o) output=$OPTARG ;;
        l) link=$OPTARG ;;
        v) severity=$OPTARG ;;
        *) echo "usage: $0 -u URL -t TOKEN_FILE -n TYPE -H HOST [-s SERVICE] -S STATE [-o OUTPUT] [-l LINK] [-v SEVERITY]" >&2; exit 3 ;;
    esac
done
if [[ -z $url || -z $token_file || -z $type || -z $host || -z $state ]]; then
    echo "$0: -u, -t, -n, -H and -S are required" >&2
    exit 3
fi

case $type in
    PROBLEM) status=firing ;;
    RECOVERY) status=resolved ;;
    *) exit 0 ;;
esac

name=${service:-HOST}
if [[ -z $severity ]]; then
    case $state in
        CRITICAL | DOWN) severity=critical ;;
        WARNING) severity=warning ;;
        *) severity=info ;;
    esac
fi

# JSON string escaping for the fields (backslash, quote, control characters).
json() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/ }
    s=${s//$'\r'/ }
    s=${s//$'\t'/ }
    printf '"%s"' "$s"
}

body=$(printf '{"source":"icinga","name":%s,"host":%s,"severity":%s,"state":"%s","summary":%s,"url":%s,"id":%s}' \
    "$(json "$name")" "$(json "$host")" "$(json "$severity")" "$status" "$(json "$state: $output")" \
    "$(json "$link")" "$(json "$host!$name")")

IFS= read -r token <"$token_file"
# The header comes from a file descriptor (printf is a shell builtin), not from curl's arguments.
curl --silent --show-error --fail-with-body --max-time 10 \
    -H @<(printf 'Authorization: Bearer %s\n' "$token") -H 'Content-Type: application/json' \
    --data-binary "$body" "${url%/}/api/v1/alerts/generic"
echo
