#!/usr/bin/env bash
# scripts/demo.sh BUILD_DIR — the README's main job, as a user would see it,
# given an already-built tree (scripts/main.sh installs and builds, then
# calls this). It starts a throwaway nats-server with JetStream on a free
# loopback port in a temp dir, fills a bucket with 10,000 node records,
# mirrors it into a snapshot, changes a handful of keys while the mirror is
# stopped, restarts it and shows that only the delta arrived, then deletes
# and recreates the bucket and shows the mirror detect it and resync. It
# stops the server and removes the temp dir on exit, and exits non-zero on
# any mismatch.
set -euo pipefail

build=${1:?usage: scripts/demo.sh BUILD_DIR}
cli=$(cd "$build" && pwd)/tools/slipstream
[ -x "$cli" ] || { echo "demo: $cli not found (build first)" >&2; exit 2; }
server_bin=$(command -v nats-server || true)
for d in /usr/sbin /usr/bin /usr/local/bin; do
	[ -n "$server_bin" ] || { [ -x "$d/nats-server" ] && server_bin=$d/nats-server; }
done
[ -n "$server_bin" ] || { echo "demo: nats-server not found" >&2; exit 2; }

work=$(mktemp -d /tmp/slipstream-demo.XXXXXX)
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "DEMO FAILED: command at line $LINENO exited with $?" >&2' ERR

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
heading() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
fail() { printf '\nDEMO FAILED: %s\n' "$*" >&2; exit 1; }
# Shows a command the way a user would type it (on stderr, so that output
# filters below leave it alone), then runs it.
run() {
	local shown="$ slipstream" a
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9._/:=@%+,-]+$ ]]; then
			shown+=" $a"
		else
			shown+=" '$a'"
		fi
	done
	printf '%s\n' "$shown" >&2
	"$cli" "$@"
}
now_ms() { date +%s%3N; }

# ------------------------------------------------------------------ server
heading "1. Start a throwaway nats-server with JetStream"
cat >"$work/server.conf" <<EOF
listen: 127.0.0.1:-1
jetstream { store_dir: "$work/js" }
ports_file_dir: "$work"
EOF
"$server_bin" -c "$work/server.conf" >"$work/server.log" 2>&1 &
server_pid=$!
url=
for _ in $(seq 1 100); do
	ports=$work/nats-server_$server_pid.ports
	if [ -s "$ports" ]; then
		url=$(grep -o 'nats://127\.0\.0\.1:[0-9]*' "$ports" | head -1)
		break
	fi
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$url" ] || { cat "$work/server.log" >&2; fail "nats-server did not start"; }
export NATS_URL=$url SLIPSTREAM_BUCKET=fleet
unset SLIPSTREAM_CREDS
echo "nats-server $("$server_bin" --version | awk '{print $NF}') listening on $url (store in $work/js)"

# JetStream takes a moment after the port opens.
for _ in $(seq 1 50); do
	"$cli" bucket create fleet --history 5 --description "fleet node config" \
		>/dev/null 2>&1 && break
	sleep 0.1
done

# ------------------------------------------------------------------- fill
heading "2. Fill bucket 'fleet' with 10,000 node records"
regions="us-east us-west eu-west eu-central ap-south"
awk -v regions="$regions" 'BEGIN {
	n = split(regions, r, " ");
	for (i = 0; i < 10000; i++) {
		reg = r[i % n + 1]; id = int(i / n) + 1;
		printf "node.%s-%d\t{\"region\":\"%s\",\"zone\":\"%s-%d\",\"cpu\":%d,\"mem_gb\":%d,\"state\":\"active\",\"agent\":\"1.4.2\"}\n",
			reg, id, reg, reg, id % 3 + 1, 2 ^ (i % 4 + 2), 2 ^ (i % 4 + 4);
	}
}' >"$work/nodes.tsv"
echo "generated $(wc -l <"$work/nodes.tsv") lines of KEY<TAB>VALUE, e.g.:"
head -2 "$work/nodes.tsv" | sed 's/^/    /'
run bucket create fleet --history 5 --description "fleet node config" | grep -E '^(bucket|history|description):'
run load "$work/nodes.tsv"
run get node.eu-west-7
run bucket info fleet | grep -E '^(live keys|revisions):'

# ----------------------------------------------------------------- mirror
snap=$work/fleet.snap
keys_of() { sed -n 's/.*snapshot holds \([0-9]*\) keys.*/\1/p' | tail -1; }
applied_of() { sed -n 's/.*caught up.*: applied \([0-9]*\) updates.*/\1/p' | tail -1; }

heading "3. Mirror the bucket into a local snapshot (initial replay)"
out=$(run mirror fleet --snapshot "$snap" --until-caught-up --quiet)
echo "$out"
[ "$(keys_of <<<"$out")" = 10000 ] || fail "snapshot should hold 10000 keys"
run snapshot info "$snap" | grep -E '^(keys|file bytes|cursor):'

heading "4. With the mirror stopped, change a handful of keys"
run put node.us-east-1 '{"region":"us-east","zone":"us-east-2","cpu":16,"mem_gb":64,"state":"active","agent":"1.5.0"}'
run put node.ap-south-9 '{"region":"ap-south","zone":"ap-south-1","cpu":8,"mem_gb":32,"state":"draining","agent":"1.4.2"}'
run put node.eu-north-1 '{"region":"eu-north","zone":"eu-north-1","cpu":4,"mem_gb":16,"state":"active","agent":"1.5.0"}'
run del node.us-west-3
run del node.eu-central-12
run purge node.ap-south-100

heading "5. Restart the mirror: only the delta arrives"
t0=$(now_ms)
out=$(run mirror fleet --snapshot "$snap" --until-caught-up)
t1=$(now_ms)
echo "$out"
echo "(whole run, connect included: $((t1 - t0)) ms)"
[ "$(applied_of <<<"$out")" = 6 ] || fail "expected exactly the 6 changes, not a replay"
[ "$(keys_of <<<"$out")" = 9998 ] || fail "snapshot should hold 9998 keys"
run snapshot dump "$snap" --prefix node.eu-north

heading "6. Delete the bucket and recreate it with different contents"
run bucket rm fleet
run bucket create fleet --history 5 --description "fleet node config, v2" | grep -E '^(bucket|revisions):'
awk 'BEGIN {
	for (i = 1; i <= 2500; i++)
		printf "node.eu-west-%d\t{\"region\":\"eu-west\",\"zone\":\"eu-west-%d\",\"cpu\":8,\"mem_gb\":32,\"state\":\"active\",\"agent\":\"2.0.0\"}\n", i, i % 3 + 1;
	printf "service.api\t{\"replicas\":12}\nservice.web\t{\"replicas\":30}\n";
}' >"$work/nodes-v2.tsv"
run load "$work/nodes-v2.tsv"

heading "7. The mirror detects the new bucket (cursor expired) and resyncs"
out=$(run mirror fleet --snapshot "$snap" --until-caught-up --quiet)
echo "$out"
grep -q "expired" <<<"$out" || fail "the mirror did not report the expired cursor"
grep -q "after resync" <<<"$out" || fail "the mirror did not resync"
[ "$(keys_of <<<"$out")" = 2502 ] || fail "snapshot should hold 2502 keys after the resync"
grep -q "resync delete 7998)" <<<"$out" || fail "the 7998 keys the new bucket lacks should be deleted"

heading "8. Compare the snapshot with the bucket"
run snapshot dump "$snap" | grep -v '^# cursor' | sort >"$work/dump.txt"
run scan | sort >"$work/scan.txt"
if ! cmp -s "$work/dump.txt" "$work/scan.txt"; then
	diff "$work/dump.txt" "$work/scan.txt" | head -20 >&2
	fail "snapshot dump and scan differ"
fi
echo "snapshot dump and scan agree: $(wc -l <"$work/dump.txt") keys, identical values"
run snapshot verify "$snap" | head -1

heading "Done: stopping nats-server and removing $work"
