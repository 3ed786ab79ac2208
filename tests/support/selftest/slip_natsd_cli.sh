#!/bin/sh
# tests/support/selftest/slip_natsd_cli.sh — ctest harness-slip-natsd-cli:
# slip-natsd prints a URL that accepts connections, and removes its temp dir
# and stops its server when stdin closes, and likewise on SIGTERM.
set -u
BIN=$1
T=$(mktemp -d)
pass=0; fail=0
ok() { pass=$((pass+1)); echo "ok: $1"; }
bad() { fail=$((fail+1)); echo "FAIL: $1"; }

# 1. stdin closes -> server stops, dir removed.
mkfifo "$T/in"
"$BIN" < "$T/in" > "$T/out1" 2>"$T/err1" &
P=$!
exec 3>"$T/in"
i=0; while [ $i -lt 150 ] && ! grep -q '^ready$' "$T/out1"; do sleep 0.1; i=$((i+1)); done
URL=$(head -n1 "$T/out1"); DIR=$(sed -n 's/^dir=//p' "$T/out1"); SPID=$(sed -n 's/^pid=//p' "$T/out1")
case "$URL" in nats://127.0.0.1:*) ok "url $URL";; *) bad "url '$URL'"; cat "$T/err1";; esac
[ -d "$DIR" ] && ok "dir exists" || bad "dir '$DIR' missing"
kill -0 "$SPID" 2>/dev/null && ok "server running" || bad "server $SPID not running"
exec 3>&-
wait $P; rc=$?
[ $rc -eq 0 ] && ok "exit 0 on stdin EOF" || bad "exit $rc"
[ ! -d "$DIR" ] && ok "dir removed" || bad "dir left behind"
kill -0 "$SPID" 2>/dev/null && bad "server left running" || ok "server stopped"

# 2. SIGTERM -> same, with --no-stdin.
"$BIN" --no-stdin > "$T/out2" 2>"$T/err2" < /dev/null &
P=$!
i=0; while [ $i -lt 150 ] && ! grep -q '^ready$' "$T/out2"; do sleep 0.1; i=$((i+1)); done
DIR=$(sed -n 's/^dir=//p' "$T/out2"); SPID=$(sed -n 's/^pid=//p' "$T/out2")
kill -0 "$SPID" 2>/dev/null && ok "server running (no-stdin)" || bad "server not running"
kill -TERM $P; wait $P; rc=$?
[ $rc -eq 0 ] && ok "exit 0 on SIGTERM" || bad "exit $rc on SIGTERM"
[ ! -d "$DIR" ] && ok "dir removed" || bad "dir left behind"
kill -0 "$SPID" 2>/dev/null && bad "server left running" || ok "server stopped"

# 3. SIGKILL of slip-natsd -> the server dies with it (parent-death signal).
"$BIN" --no-stdin > "$T/out3" 2>"$T/err3" < /dev/null &
P=$!
i=0; while [ $i -lt 150 ] && ! grep -q '^ready$' "$T/out3"; do sleep 0.1; i=$((i+1)); done
DIR=$(sed -n 's/^dir=//p' "$T/out3"); SPID=$(sed -n 's/^pid=//p' "$T/out3")
kill -KILL $P; wait $P 2>/dev/null
i=0; while [ $i -lt 50 ] && kill -0 "$SPID" 2>/dev/null; do sleep 0.1; i=$((i+1)); done
kill -0 "$SPID" 2>/dev/null && bad "server outlived a SIGKILLed parent" || ok "server died with its parent"
rm -rf "$DIR"

rm -rf "$T"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
