// tests/js/mint.mjs — mints NATS operator-mode credentials at test time.
//
//   node mint.mjs OUTDIR
//
// Creates an operator, a system account (SYS), an application account (APP)
// whose JWT spells out every limit (omitted limits mean zero connections in
// operator mode) with JetStream enabled, and users:
//   OUTDIR/auth.conf    server config fragment: operator, system_account,
//                       resolver: MEMORY, resolver_preload (for natsd extra_conf)
//   OUTDIR/app.creds    user "app" of APP (the good credentials)
//   OUTDIR/stray.creds  user of an account the server has never heard of
//   OUTDIR/sys.creds    user of SYS
//   OUTDIR/mem.creds    another user of APP, for tests that load it into
//                       memory and delete the file
// and prints one JSON line {"conf":…, "app":…, "stray":…, "sys":…, "mem":…} with the
// paths. Nothing else is written; the seeds live only in the .creds files.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createAccount, createOperator, createUser } from "@nats-io/nkeys";
import {
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
} from "@nats-io/jwt";

const out = process.argv[2];
if (!out) {
  console.error("usage: node mint.mjs OUTDIR");
  process.exit(2);
}
mkdirSync(out, { recursive: true });

// Every limit unlimited: an account JWT that omits one gets zero of it.
const natsUnlimited = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
};
// JetStream on for APP only: the server refuses to start when the system
// account has JetStream enabled.
const unlimited = {
  ...natsUnlimited,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
};

async function user(name, accountKp) {
  const ukp = createUser();
  const jwt = await encodeUser(name, ukp, accountKp);
  return new TextDecoder().decode(fmtCreds(jwt, ukp));
}

const okp = createOperator();
const operatorJwt = await encodeOperator("slip-test-op", okp);

const sys = createAccount();
const sysJwt = await encodeAccount("SYS", sys, { limits: natsUnlimited }, {
  signer: okp,
});
const app = createAccount();
const appJwt = await encodeAccount("APP", app, { limits: unlimited }, {
  signer: okp,
});
// An account the server is never told about: its users must be refused.
const stray = createAccount();

const conf = [
  `operator: "${operatorJwt}"`,
  `system_account: "${sys.getPublicKey()}"`,
  "resolver: MEMORY",
  "resolver_preload: {",
  `  ${sys.getPublicKey()}: "${sysJwt}"`,
  `  ${app.getPublicKey()}: "${appJwt}"`,
  "}",
  "",
].join("\n");

const paths = {
  conf: join(out, "auth.conf"),
  app: join(out, "app.creds"),
  stray: join(out, "stray.creds"),
  sys: join(out, "sys.creds"),
  mem: join(out, "mem.creds"),
};
writeFileSync(paths.conf, conf);
writeFileSync(paths.app, await user("app", app), { mode: 0o600 });
writeFileSync(paths.stray, await user("stray", stray), { mode: 0o600 });
writeFileSync(paths.sys, await user("sys", sys), { mode: 0o600 });
writeFileSync(paths.mem, await user("mem", app), { mode: 0o600 });
console.log(JSON.stringify(paths));
