#!/usr/bin/env bash
# scripts/bench.sh — THE benchmark command (docs/BENCHMARKS.md).
#
# Builds the benchmarks in Release (build-bench/, or $SLIP_BENCH_BUILD) if
# needed, starts its own nats-server (JetStream, file storage) on a free
# loopback port in a temp dir, runs every benchmark side by side —
# Slipstream (slip-bench), raw libnats (slip-bench-raw) and the official
# JavaScript client (bench/js) — and prints one table with the ratios.
# Every timed figure is taken $ROUNDS times, the columns back to back in
# each round, so load on this shared machine hits them alike; the table
# shows medians and the median of the per-round ratios.
#
#   scripts/bench.sh              full run (a few minutes on 2 cores)
#   scripts/bench.sh --quick      tiny sizes: proves every benchmark runs
#   scripts/bench.sh --callgrind  also instruction counts of the CPU-bound
#                                 parts under valgrind --tool=callgrind
#   scripts/bench.sh --no-js      skip the JavaScript client column
#
# SLIP_BENCH_BIN=<dir with slip-bench and slip-bench-raw> skips the build
# and never runs npm (the bench-smoke ctest uses that with --quick).
#
# Raw "R <metric> <value>" lines go to $OUT/results.txt, details to
# $OUT/bench.log; $OUT is <build or bin dir>/bench-out unless
# SLIP_BENCH_OUT is set.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SLIP_BENCH_BUILD:-$ROOT/build-bench}
QUICK=0 CALLGRIND=0 JS=1
for a in "$@"; do
	case $a in
	--quick) QUICK=1 ;;
	--callgrind) CALLGRIND=1 ;;
	--no-js) JS=0 ;;
	-h | --help) sed -n '2,24p' "$0"; exit 0 ;;
	*) echo "bench.sh: unknown option $a" >&2; exit 2 ;;
	esac
done

if [ $QUICK = 1 ]; then
	ROUNDS=1 N_PUT=200 N_LOAD=2000 N_SCAN=2000 N_GETS=2000 N_SNAP=20000 N_BIG=20000
	N_CHAN=20000 N_DELTA=10
else
	ROUNDS=${SLIP_BENCH_ROUNDS:-7} N_PUT=5000 N_LOAD=100000 N_SCAN=100000 N_GETS=100000
	N_SNAP=1000000 N_BIG=1000000 N_CHAN=1000000 N_DELTA=100
fi

# ------------------------------------------------------------------ build
BIN=${SLIP_BENCH_BIN:-}
if [ -z "$BIN" ]; then
	# Release, and a new compiler warning must not stop a measurement
	# (the warning gate is the Debug/sanitizer builds of CI).
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
		-DSLIP_WERROR=OFF >/dev/null
	cmake --build "$BUILD" -j2 --target slip-bench-raw slip-bench >/dev/null
	# bench/snapshot's own figures, when that benchmark is in the tree.
	cmake --build "$BUILD" -j2 --target bench-snapshot >/dev/null 2>&1 ||
		true
	BIN=$BUILD/bench
fi
RAW=$BIN/slip-bench-raw
SLIP=$BIN/slip-bench
NODE_DIR=$ROOT/bench/js
if [ $JS = 1 ]; then
	if ! command -v node >/dev/null; then
		echo "bench.sh: node not found: JS column skipped" >&2
		JS=0
	elif [ ! -d "$NODE_DIR/node_modules/@nats-io/kv" ] &&
		[ -n "${SLIP_BENCH_BIN:-}" ]; then
		echo "bench.sh: bench/js not installed: JS column skipped" >&2
		JS=0
	elif [ ! -d "$NODE_DIR/node_modules/@nats-io/kv" ]; then
		(cd "$NODE_DIR" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
			{ echo "bench.sh: npm ci failed: JS column skipped" >&2; JS=0; }
	fi
fi

# ------------------------------------------------------------- nats-server
TMP=$(mktemp -d /tmp/slip-bench.XXXXXX)
OUT=${SLIP_BENCH_OUT:-${SLIP_BENCH_BIN:-$BUILD}/bench-out}
mkdir -p "$OUT"
RES=$OUT/results.txt LOG=$OUT/bench.log
: >"$RES"; : >"$LOG"
NATS_PID=
cleanup() {
	if [ -n "$NATS_PID" ]; then
		kill "$NATS_PID" 2>/dev/null || true
		wait "$NATS_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

start_server() {
	local port
	for _ in 1 2 3 4 5; do
		port=$("$RAW" freeport)
		cat >"$TMP/nats.conf" <<CONF
listen: 127.0.0.1:$port
max_payload: 8MB
jetstream { store_dir: "$TMP/js" }
CONF
		nats-server -c "$TMP/nats.conf" >>"$TMP/nats.log" 2>&1 &
		NATS_PID=$!
		URL=nats://127.0.0.1:$port
		for _ in $(seq 50); do
			if "$RAW" fill "$URL" ready 1 >/dev/null 2>&1; then
				return 0
			fi
			kill -0 "$NATS_PID" 2>/dev/null || break
			sleep 0.2
		done
		kill "$NATS_PID" 2>/dev/null || true
		wait "$NATS_PID" 2>/dev/null || true
		NATS_PID=
	done
	echo "bench.sh: nats-server did not start (see $TMP/nats.log)" >&2
	cat "$TMP/nats.log" >&2 || true
	exit 1
}
command -v nats-server >/dev/null ||
	{ echo "bench.sh: nats-server not found" >&2; exit 1; }
start_server

# A failed (or stalled: 180 s) benchmark records nothing for its metric,
# which shows as n/a, and the run goes on.
FAILED=0
run() {
	if ! timeout 180 "$@" >>"$RES" 2>>"$LOG"; then
		echo "bench.sh: FAILED: $*" | tee -a "$LOG" >&2
		FAILED=$((FAILED + 1))
	fi
}
js() { [ $JS = 1 ] && run node "$NODE_DIR/bench.mjs" "$@"; true; }
step() { printf '%s  %s\n' "$(date -u +%T)" "$*" >&2; }

# ------------------------------------------------------------ put and get
step "put/get: $N_PUT sequential ops × $ROUNDS rounds"
run "$RAW" fill "$URL" pg 1 100 p
for _ in $(seq "$ROUNDS"); do
	run "$RAW" put "$URL" pg "$N_PUT"
	run "$SLIP" put "$URL" pg "$N_PUT"
	js put "$URL" pg "$N_PUT"
	run "$RAW" get "$URL" pg "$N_PUT"
	run "$SLIP" get "$URL" pg "$N_PUT"
	js get "$URL" pg "$N_PUT"
done

# ------------------------------------------------------ pipelined writes
# The same 100-byte puts: raw js_PublishAsync (4096 in flight), a Slipstream
# pipeline (4096 in flight) and, for the speed-up, sequential slip puts.
step "pipelined load: $N_LOAD keys × $ROUNDS rounds"
run "$RAW" fill "$URL" loadslip 1 100 q
for _ in $(seq "$ROUNDS"); do
	run "$RAW" pubasync "$URL" loadraw "$N_LOAD" 100 r
	run "$SLIP" pipeput "$URL" loadslip "$N_LOAD" q
	run "$SLIP" put "$URL" pg "$N_PUT" s slip.put_seq_ops
done

# --------------------------------------------------- scan, keys and watch
step "scan/keys/watch: $N_SCAN keys × $ROUNDS rounds"
run "$RAW" fill "$URL" scan "$N_SCAN"
for _ in $(seq "$ROUNDS"); do
	run "$RAW" watchall "$URL" scan
	run "$SLIP" scan "$URL" scan
	# N_GETS individual gets, a slice per round next to the scans.
	run "$RAW" gets "$URL" scan $((N_GETS / ROUNDS)) k "$N_GETS"
	run "$RAW" watchall "$URL" scan list
	run "$SLIP" scanlist "$URL" scan
	js scan "$URL" scan
	run "$RAW" keys "$URL" scan
	run "$RAW" watchall "$URL" scan meta
	run "$RAW" ordered "$URL" scan "$N_SCAN" headers
	run "$SLIP" keys "$URL" scan
	run "$SLIP" keyseach "$URL" scan
	js keys "$URL" scan
	run "$RAW" ordered "$URL" scan "$N_SCAN"
	run "$SLIP" watch "$URL" scan "$N_SCAN"
	run "$SLIP" applied "$URL" scan
	run "$SLIP" applied "$URL" scan "$TMP/watch.snap"
	js watch "$URL" scan "$N_SCAN"
done

# ----------------------------------------------------------------- resume
step "resume: $N_SCAN-key snapshot + $N_DELTA updates × $ROUNDS rounds"
run "$RAW" fill "$URL" resume "$N_SCAN"
# Build the service's snapshot (not timed: its figure goes to the log).
"$SLIP" applied "$URL" resume "$TMP/resume.snap" >>"$LOG" 2>&1 ||
	run false "build resume snapshot"
# The delta: N_DELTA puts after the snapshot's cursor (not a put figure).
"$RAW" put "$URL" resume "$N_DELTA" k >>"$LOG" 2>&1 ||
	run false "write the delta"
for _ in $(seq "$ROUNDS"); do
	cp "$TMP/resume.snap" "$TMP/resume.run.snap"
	run "$SLIP" snapload "$TMP/resume.run.snap"
	run "$SLIP" resume "$URL" resume "$TMP/resume.run.snap"
	run "$SLIP" replay "$URL" resume
done

# ------------------------------------------------------ snapshot, channel
step "snapshot: $N_SNAP records; channel: $N_CHAN entries"
run "$SLIP" snapgen "$TMP/big.snap" "$N_SNAP"
for _ in $(seq "$ROUNDS"); do
	run "$SLIP" snapload "$TMP/big.snap" slip.snapload_1m_s
	run "$SLIP" chan "$N_CHAN"
done
rm -f "$TMP/big.snap"

# ----------------------------------------------------------------- memory
step "memory: mirror $N_BIG keys (fill by async publish first)"
# Keys "bench/mirror/keys.<i>": 24 bytes on average, with 100-byte values.
BIGPFX=bench/mirror/keys
run "$RAW" fill "$URL" big "$N_BIG" 100 "$BIGPFX"
# batch_max 1000: with the default 100 the run is bound by 10,000 fdatasyncs
# (about a minute here); the peak RSS does not depend on it.
run "$SLIP" rss "$URL" big "$TMP/rss.snap" 1000 "$BIGPFX"
# The same mirror as a slip_replica: alone, and with its snapshot.
run "$SLIP" rssreplica "$URL" big - 1000 "$BIGPFX"
run "$SLIP" rssreplica "$URL" big "$TMP/rss.snap" 1000 "$BIGPFX"
# For scale: a mirror written with libnats alone, keeping every kvEntry.
run "$RAW" watchall "$URL" big rss
rm -f "$TMP/rss.snap"

# -------------------------------------------------------------- callgrind
if [ $CALLGRIND = 1 ]; then
	step "callgrind: instruction counts"
	N_CG=$((N_SNAP / 10))
	# Only the library calls named with --toggle-collect are counted, so
	# the figures leave out making test data and process start-up.
	cg() { # metric, divisor, functions (comma-separated), command...
		local m=$1 div=$2 fns=$3 ir t=()
		shift 3
		for f in ${fns//,/ }; do t+=("--toggle-collect=$f"); done
		valgrind --tool=callgrind --callgrind-out-file=/dev/null \
			"${t[@]}" "$@" >/dev/null 2>"$TMP/cg.txt" || true
		ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$TMP/cg.txt")
		if [ -n "$ir" ]; then
			echo "R $m $(awk -v a="$ir" -v b="$div" 'BEGIN{printf "%.1f", a/b}')" >>"$RES"
		else
			echo "R $m NA" >>"$RES"
			cat "$TMP/cg.txt" >>"$LOG"
		fi
	}
	cg cg.snapgen_ir "$N_CG" \
		slip_snapshot_writer_write,slip_snapshot_writer_checkpoint \
		"$SLIP" snapgen "$TMP/cg.snap" "$N_CG"
	cg cg.snapload_ir "$N_CG" slip_snapshot_load \
		"$SLIP" snapload "$TMP/cg.snap"
	cg cg.chan_ir "$N_CG" slip_chan_send,slip_chan_recv \
		"$SLIP" chan "$N_CG"
	rm -f "$TMP/cg.snap"
fi

kill "$NATS_PID" 2>/dev/null || true
wait "$NATS_PID" 2>/dev/null || true
NATS_PID=

# ------------------------------------------------------------------ table
awk -v quick=$QUICK -v nscan="$N_SCAN" -v nload="$N_LOAD" -v nsnap="$N_SNAP" -v nbig="$N_BIG" \
	-f "$ROOT/bench/table.awk" "$RES"
SNAPBENCH=$BIN/snapshot/bench-snapshot
if [ $QUICK = 0 ] && [ -x "$SNAPBENCH" ]; then
	echo
	echo "bench/snapshot (bench-snapshot, its own file layout):"
	(cd "$TMP" && TMPDIR=$TMP timeout 300 "$SNAPBENCH" 2>&1) ||
		echo "bench.sh: bench-snapshot failed" >&2
fi
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
	"$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "versions: $(nats-server --version 2>&1 | head -1), libnats $(pkg-config --modversion libnats 2>/dev/null)," \
	"node $(node --version 2>/dev/null || echo none), slipstream $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
echo "rounds: $ROUNDS (median shown); results: $RES; log: $LOG"
if [ "$FAILED" != 0 ]; then
	echo "bench.sh: $FAILED benchmark run(s) failed, see $LOG" >&2
	exit 1
fi
