// bench/js/bench.mjs — the official NATS JavaScript KV client (@nats-io/kv
// on Node.js) doing the same work as slip-bench and slip-bench-raw, for the
// side-by-side table of scripts/bench.sh. Prints "R js.<what> <value>".
//
//   node bench.mjs put   URL BUCKET N [PFX]  sequential kv.put, ops/s
//   node bench.mjs get   URL BUCKET N [PFX]  sequential kv.get, ops/s
//   node bench.mjs scan  URL BUCKET          kv.watch() until the initial
//                                            values are in (delta 0),
//                                            entries kept in an array, s
//   node bench.mjs keys  URL BUCKET          kv.keys() drained, s
//   node bench.mjs watch URL BUCKET N        kv.watch() delivering N
//                                            updates, nothing kept, s
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";

const [cmd, url, bucket, nArg, pfxArg] = process.argv.slice(2);
const n = Number(nArg ?? 1000);

function result(metric, value) {
  console.log(`R ${metric} ${Number(value.toPrecision(6))}`);
}

function value(seed) {
  // Same shape as bench_value() in C: 100 printable bytes per key.
  const b = new Uint8Array(100);
  let x = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
  const m = (1n << 64n) - 1n;
  for (let i = 0; i < b.length; i++) {
    x ^= (x << 13n) & m;
    x ^= x >> 7n;
    x ^= (x << 17n) & m;
    b[i] = 97 + Number(x % 26n);
  }
  return b;
}

async function main() {
  const nc = await connect({ servers: url });
  const kv = await new Kvm(nc).open(bucket);
  const t0 = performance.now();
  const secs = () => (performance.now() - t0) / 1000;
  let count = 0;

  if (cmd === "put") {
    const pfx = pfxArg ?? "p";
    const vals = Array.from({ length: n }, (_, i) => value(i + 7));
    const t1 = performance.now();
    for (let i = 0; i < n; i++) await kv.put(`${pfx}.${i}`, vals[i]);
    result("js.put_ops", n / ((performance.now() - t1) / 1000));
  } else if (cmd === "get") {
    const pfx = pfxArg ?? "p";
    for (let i = 0; i < n; i++) {
      if ((await kv.get(`${pfx}.${i}`)) === null) throw new Error("missing");
    }
    result("js.get_ops", n / secs());
  } else if (cmd === "scan") {
    const entries = [];
    const iter = await kv.watch({ key: ">" });
    for await (const e of iter) {
      entries.push(e);
      if (e.delta === 0) break;
    }
    iter.stop();
    count = entries.length;
    result("js.scan_s", secs());
  } else if (cmd === "keys") {
    for await (const k of await kv.keys()) if (k) count++;
    result("js.keys_s", secs());
  } else if (cmd === "watch") {
    const iter = await kv.watch({ key: ">" });
    for await (const e of iter) {
      if (++count === n) break;
    }
    iter.stop();
    result("js.watch_s", secs());
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
  if (count) console.error(`bench js: ${cmd}: ${count} entries`);
  await nc.close();
}

main().catch((err) => {
  console.error(`bench js: ${cmd}: ${err.message}`);
  process.exit(1);
});
