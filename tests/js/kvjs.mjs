// tests/js/kvjs.mjs — the official NATS JavaScript client (@nats-io/transport-node
// + @nats-io/kv) as the independent side of the interop tests. One JSON object
// per line on stdout; values travel as lower-case hex so binary survives.
//
//   node kvjs.mjs create URL BUCKET HISTORY
//       creates the bucket; prints {"ok":true}
//   node kvjs.mjs write URL BUCKET
//       runs a fixed sequence of puts, deletes, purges, creates over
//       tombstones and an update; prints one line per operation:
//       {"op":"PUT"|"DEL"|"PURGE","key":K,"rev":N,"hex":H} then {"done":N}
//   node kvjs.mjs state URL BUCKET
//       what this client sees: a watch's initial state (last entry per key,
//       tombstones included) as {"w":1,...}, then kv.get of each of those
//       keys as {"g":1,...}, then kv.keys() as {"k":1,"key":K}, then {"done":N}
//   node kvjs.mjs watch URL BUCKET COUNT
//       starts a watch (initial state, then live) and prints every entry it
//       receives as {"op":…,"key":…,"rev":…,"hex":…,"update":bool}, with
//       {"ready":true} once the initial state is through, until COUNT live
//       updates have been seen; then {"done":COUNT}
//
// Every command gives up after 60 s (exit 3) so a test can never hang on it.
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";

const [cmd, url, bucket, arg] = process.argv.slice(2);
const watchdog = setTimeout(() => {
  console.error(`kvjs ${cmd}: gave up after 60 s`);
  process.exit(3);
}, 60000);

const hex = (u8) => Buffer.from(u8 ?? new Uint8Array()).toString("hex");
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const line = (e) => ({
  op: e.operation,
  key: e.key,
  rev: e.revision,
  hex: hex(e.value),
});

async function write(kv) {
  const ops = [];
  const record = async (key) => {
    const e = await kv.get(key);
    ops.push(line(e));
    out(line(e));
  };
  const bin = new Uint8Array(256).map((_, i) => i);
  const te = new TextEncoder();

  await kv.put("a", te.encode("alpha"));
  await record("a");
  await kv.put("b.c", new Uint8Array([0, 1, 2, 255, 254, 0, 10, 13]));
  await record("b.c");
  await kv.put("bin/x", bin);
  await record("bin/x");
  const ra = await kv.put("a", te.encode("alpha2"));
  await record("a");
  await kv.delete("b.c");
  await record("b.c");
  await kv.create("b.c", te.encode("reborn")); // over a tombstone
  await record("b.c");
  await kv.put("k_1", new Uint8Array()); // an empty value is still a PUT
  await record("k_1");
  await kv.put("d-e=f", te.encode("x"));
  await record("d-e=f");
  await kv.purge("d-e=f");
  await record("d-e=f");
  await kv.create("d-e=f", te.encode("after-purge")); // over a purge
  await record("d-e=f");
  await kv.put("gone", te.encode("tmp"));
  await record("gone");
  await kv.delete("gone");
  await record("gone");
  await kv.update("a", te.encode("alpha3"), ra);
  await record("a");
  await kv.put("dir.sub.key", te.encode("deep"));
  await record("dir.sub.key");
  await kv.purge("k_1");
  await record("k_1");
  out({ done: ops.length });
}

async function state(kv) {
  const st = await kv.status();
  const seen = [];
  if (st.values > 0) {
    const w = await kv.watch();
    for await (const e of w) {
      seen.push(e.key);
      out({ w: 1, ...line(e) });
      if (e.delta === 0) break;
    }
    w.stop();
  }
  for (const k of seen) {
    const e = await kv.get(k);
    out(e ? { g: 1, ...line(e) } : { g: 1, key: k, op: "NONE" });
  }
  const keys = await kv.keys();
  for await (const k of keys) out({ k: 1, key: k });
  out({ done: seen.length });
}

async function watch(kv, count) {
  // Entries up to the stream's last sequence now are the initial state; the
  // test writes nothing until it sees "ready".
  const last = (await kv.status()).streamInfo.state.last_seq;
  let live = 0;
  const w = await kv.watch();
  if (last === 0) out({ ready: true });
  for await (const e of w) {
    const update = e.revision > last;
    out({ ...line(e), update });
    if (!update && e.revision >= last) out({ ready: true });
    if (update && ++live >= count) break;
  }
  w.stop();
  out({ done: live });
}

const nc = await connect({ servers: url, maxReconnectAttempts: 0 });
try {
  const kvm = new Kvm(nc);
  if (cmd === "create") {
    await kvm.create(bucket, { history: Number(arg || 1) });
    out({ ok: true });
  } else if (cmd === "write") {
    await write(await kvm.open(bucket));
  } else if (cmd === "state") {
    await state(await kvm.open(bucket));
  } else if (cmd === "watch") {
    await watch(await kvm.open(bucket), Number(arg));
  } else {
    console.error(`kvjs: unknown command ${cmd}`);
    process.exitCode = 2;
  }
} finally {
  await nc.close();
  clearTimeout(watchdog);
}
