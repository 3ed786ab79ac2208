# bench/table.awk — turns the "R <metric> <value>" lines that the
# benchmarks print into the side-by-side table of scripts/bench.sh.
# Each metric may appear several times (rounds): the median is shown.
# Rounds ran back to back (Slipstream, raw, JS), so a ratio is the median of
# the per-round ratios (load drifts cancel) and "rounds" gives their range;
# a baseline measured once (100k gets) is compared with the median.
#
# A row: label | Slipstream metric | baseline metric | JS metric | kind |
# target vs baseline | target vs JS. A baseline "=N" is the constant N.
# Kinds:
#   r  a rate (ops/s); ratio = slip / baseline
#   t  a time (s, shown in ms); ratio = baseline / slip (speed-up)
#   u  a time for nscan updates, shown as updates/s; ratio as t
#   l  a time where lower is the point; ratio = slip / baseline (≤ target)
#   v  a plain value, no ratio
# Targets ">=x" or "<=x"; "" for none. The last column (baseline vs JS)
# shows how far the server lets even raw libnats get ahead of the JS client.
function median(m,    n, i, j, t, a) {
	n = cnt[m]
	if (n == 0) return ""
	for (i = 1; i <= n; i++) a[i] = val[m, i]
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
		a[j + 1] = t
	}
	if (n % 2) return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmt(kind, v) {
	if (v == "") return "n/a"
	if (kind == "t" || kind == "l") return sprintf("%.1f ms", v * 1000)
	if (kind == "u") return human(nscan / v) "/s"
	if (kind == "r") return human(v) "/s"
	return human(v)
}
function human(v) {
	if (v == "") return "n/a"
	if (v >= 1e6) return sprintf("%.2fM", v / 1e6)
	if (v >= 1e4) return sprintf("%.1fk", v / 1e3)
	if (v >= 100) return sprintf("%.0f", v)
	return sprintf("%.2f", v)
}
function ratio(kind, s, b) {
	if (s == "" || b == "" || s == 0 || b == 0) return ""
	if (kind == "r" || kind == "l") return s / b
	if (kind == "t" || kind == "u") return b / s
	return ""
}
# Ratio of round i of @sm to round i of @bm (they ran back to back), for
# every round: sets pr_med, pr_min, pr_max; returns 0 when unpaired.
function paired(kind, sm, bm,    n, i, j, t, a, k) {
	n = cnt[sm]
	if (n < 2 || cnt[bm] != n) return 0
	k = 0
	for (i = 1; i <= n; i++) {
		t = ratio(kind, val[sm, i], val[bm, i])
		if (t != "") a[++k] = t
	}
	if (k < 2) return 0
	for (i = 2; i <= k; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
		a[j + 1] = t
	}
	pr_min = a[1]; pr_max = a[k]
	pr_med = (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	return 1
}
function verdict(r, target,    op, x) {
	if (target == "" || r == "") return ""
	op = substr(target, 1, 2); x = substr(target, 3) + 0
	if (op == ">=") return (r >= x) ? "met" : "MISSED"
	return (r <= x) ? "met" : "MISSED"
}
function row(label, sm, bm, jm, kind, tb, tj,    s, b, j, rb, rj, rbj, spread) {
	s = median(sm)
	b = (bm == "") ? "" : (substr(bm, 1, 1) == "=") ? substr(bm, 2) + 0 : median(bm)
	j = (jm == "") ? "" : median(jm)
	rb = ratio(kind, s, b); rj = ratio(kind, s, j); rbj = ratio(kind, b, j)
	spread = ""
	if (bm != "" && substr(bm, 1, 1) != "=" && paired(kind, sm, bm)) {
		rb = pr_med
		spread = sprintf("%.2f-%.2f", pr_min, pr_max)
	}
	if (jm != "" && paired(kind, sm, jm)) rj = pr_med
	if (jm != "" && bm != "" && paired(kind, bm, jm)) rbj = pr_med
	printf "| %-44s | %11s | %11s | %6s | %11s | %-6s %-6s | %11s | %6s | %-5s %-6s | %6s |\n", \
		label, fmt(kind, s), (bm == "") ? "" : fmt(kind, b), \
		(rb == "") ? "" : sprintf("%.2fx", rb), spread, tb, verdict(rb, tb), \
		(jm == "") ? "" : fmt(kind, j), \
		(rj == "") ? "" : sprintf("%.2fx", rj), tj, verdict(rj, tj), \
		(rbj == "") ? "" : sprintf("%.2fx", rbj)
}
$1 == "R" && $3 != "NA" { cnt[$2]++; val[$2, cnt[$2]] = $3 + 0 }
END {
	k = (nscan >= 1000) ? sprintf("%dk", nscan / 1000) : nscan
	lk = (nload >= 1000) ? sprintf("%dk", nload / 1000) : nload
	bigk = (nbig >= 1000000) ? sprintf("%dM", nbig / 1000000) : (nbig >= 1000) ? sprintf("%dk", nbig / 1000) : nbig
	snapk = (nsnap >= 1000000) ? sprintf("%dM", nsnap / 1000000) : (nsnap >= 1000) ? sprintf("%dk", nsnap / 1000) : nsnap
	printf "| %-44s | %11s | %11s | %6s | %11s | %-13s | %11s | %6s | %-12s | %6s |\n", \
		"Operation (baseline)", "Slipstream", "baseline", "ratio", \
		"rounds", "target", "JS client", "vs JS", "target", "base/JS"
	printf "|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", "----------------------------------------------", \
		"-------------", "-------------", "--------", "-------------", "---------------", \
		"-------------", "--------", "--------------", "--------"
	row("put, sequential (kvStore_Put)", "slip.put_ops", "raw.put_ops", "js.put_ops", "r", ">=0.95", "")
	row("load " lk " keys, pipelined (js_PublishAsync)", "slip.pipeput_ops", "raw.pubasync_ops", "", "r", ">=0.8", "")
	row("load " lk " keys, pipelined (slip seq. put)", "slip.pipeput_ops", "slip.put_seq_ops", "", "r", ">=10", "")
	row("get, sequential (kvStore_Get)", "slip.get_ops", "raw.get_ops", "js.get_ops", "r", ">=0.95", "")
	row("scan " k " keys, streamed (kvStore_WatchAll)", "slip.scan_s", "raw.watchall_s", "", "t", ">=1.0", "")
	row("scan " k " keys to a list (WatchAll, kept)", "slip.scanlist_s", "raw.watchall_list_s", "js.scan_s", "t", ">=1.0", ">=2.0")
	row("scan " k " keys (" k " x kvStore_Get)", "slip.scan_s", "raw.gets_s", "", "t", ">=20", "")
	row("keys " k " to a list (kvStore_Keys)", "slip.keys_s", "raw.keys_s", "", "t", ">=1.0", "")
	row("keys " k " (" k " x kvStore_Get)", "slip.keys_s", "raw.gets_s", "", "t", ">=20", "")
	row("keys " k " (WatchAll MetaOnly)", "slip.keys_s", "raw.watchall_meta_s", "", "t", ">=1.0", "")
	row("keys " k " (ordered consumer, headers only)", "slip.keys_s", "raw.ordered_headers_s", "", "t", "", "")
	row("keys " k " streamed (ordered, headers only)", "slip.keyseach_s", "raw.ordered_headers_s", "js.keys_s", "t", "", ">=2.0")
	row("watch " k ": slip_watch+chan (ordered cons.)", "slip.watch_s", "raw.ordered_s", "js.watch_s", "u", "", "")
	row("watch_applied, snapshot off (ordered cons.)", "slip.applied_s", "raw.ordered_s", "js.watch_s", "u", ">=0.8", ">=2.0")
	row("watch_applied, snapshot on (ordered cons.)", "slip.applied_snap_s", "raw.ordered_s", "js.watch_s", "u", "", "")
	row("watch_applied, snapshot on (snapshot off)", "slip.applied_snap_s", "slip.applied_s", "", "t", ">=0.9", "")
	row("resume " k "-key snap + delta (snapshot load)", "slip.resume_s", "slip.snapload_s", "", "l", "<=1.5", "")
	row("  of which: snapshot writer open (load)", "slip.resume_open_s", "slip.snapload_s", "", "l", "", "")
	row("  of which: connect + bind", "slip.resume_conn_s", "", "", "t", "", "")
	row("  of which: watch delta, apply, checkpoint", "slip.resume_watch_s", "", "", "t", "", "")
	row("full replay, no snapshot (resume)", "slip.replay_s", "slip.resume_s", "", "l", "", "")
	row("snapshot load " snapk " shuffled (1.5M rec/s)", "slip.snapload_rps", "=1500000", "", "r", ">=1.0", "")
	row("snapshot load " snapk ", per CPU second", "slip.snapload_cpu_rps", "=1500000", "", "r", ">=1.0", "")
	row("snapshot write+checkpoint, records/s", "slip.snapwrite_rps", "", "", "r", "", "")
	row("channel send+recv, 2 threads, entries/s", "slip.chan_ops", "", "", "r", "", "")
	row("mirror " bigk " keys: peak RSS MiB (raw MiB)", "slip.rss_peak_mib", "slip.rss_raw_mib", "", "v", "", "")
	row("mirror " bigk " keys: peak RSS / raw bytes", "slip.rss_ratio", "", "", "v", "", "")
	row("  same as a replica (no snapshot), ratio", "slip.rss_replica_ratio", "", "", "v", "", "")
	row("  same as a replica with its snapshot", "slip.rss_replica_snap_ratio", "", "", "v", "", "")
	row("  same with libnats alone (kvEntry kept)", "raw.rss_ratio", "", "", "v", "", "")
	row("mirror " bigk " keys: watch_applied+snap, s", "slip.mirror_1m_s", "", "", "v", "", "")
	if (cnt["cg.snapload_ir"] + cnt["cg.snapgen_ir"] + cnt["cg.chan_ir"] > 0) {
		print ""
		print "| callgrind (instructions, machine-load independent) | per item |"
		print "|-----------------------------------------------------|----------|"
		printf "| %-51s | %8s |\n", "snapshot load (slip_snapshot_load), per record", human(median("cg.snapload_ir"))
		printf "| %-51s | %8s |\n", "snapshot writer_write + checkpoint, per record", human(median("cg.snapgen_ir"))
		printf "| %-51s | %8s |\n", "channel send + recv (2 threads), per entry", human(median("cg.chan_ir"))
	}
}
