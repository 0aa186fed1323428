// A/B of the HTTP hit path: server CPU per request and allocations per request, several servers
// measured in interleaved windows so that the machine's load changes hit them all alike:
//
//   node scripts/http-ab.mjs <node|fastify> <label>=<service dist/index.js>[=<mode>] ... \
//     [--n 20000] [--rounds 7] [--alloc]
//
// `<mode>` is `cached` (default), `limit` or `limit-same-bytes` (see src/http-server.ts; run
// `pnpm build` in packages/bench first). Each server
// is warmed up with 10,000 requests, then every round runs `--n` requests (autocannon, 32
// connections) against each server in turn (reversed every other round) and reads the server's CPU
// time around it. Prints each server's median µs/request and, against the first server, the ratio
// of medians and the median of per-round ratios. `--alloc` then samples each server's allocations
// over `--n` more requests. For a "before" build: `git worktree add /tmp/before <commit>`, install,
// `pnpm turbo run build --filter @cachet/service`, and pass /tmp/before/packages/service/dist/index.js.
import { fork } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const autocannon = require("autocannon");
const SERVER = fileURLToPath(new URL("../dist/http-server.js", import.meta.url));

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const [, value] = args.splice(i, 2);
  return value;
};
const n = Number(option("--n", "20000"));
const rounds = Number(option("--rounds", "7"));
const alloc = args.includes("--alloc");
const [adapter, ...specs] = args.filter((a) => a !== "--alloc");
if (!["node", "fastify"].includes(adapter) || specs.length === 0) {
  console.error(
    "usage: node scripts/http-ab.mjs <node|fastify> <label>=<dist/index.js>[=<mode>] ... [--n N] [--rounds R] [--alloc]",
  );
  process.exit(2);
}

const ask = (child, message, key) =>
  new Promise((resolve) => {
    const onMessage = (answer) => {
      if (answer[key] === undefined) return;
      child.off("message", onMessage);
      resolve(answer[key]);
    };
    child.on("message", onMessage);
    child.send(message);
  });

const servers = [];
for (const spec of specs) {
  const [label, entry, mode = "cached"] = spec.split("=");
  const child = fork(SERVER, [adapter, mode], {
    env: { ...process.env, CACHET_SERVICE_ENTRY: entry },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const port = await ask(child, {}, "port");
  servers.push({ label, child, url: `http://127.0.0.1:${port}/`, cpu: [] });
}
try {
  for (const s of servers) {
    await (await fetch(s.url)).arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await fetch(s.url);
    await second.arrayBuffer();
    s.xCache = second.headers.get("x-cache");
    await autocannon({ url: s.url, connections: 32, amount: 10_000 });
  }
  for (let round = 0; round < rounds; round++) {
    for (const s of round % 2 === 0 ? servers : [...servers].reverse()) {
      const before = await ask(s.child, { cpu: true }, "cpu");
      const result = await autocannon({ url: s.url, connections: 32, amount: n });
      const after = await ask(s.child, { cpu: true }, "cpu");
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${s.label}: non-2xx or errors`);
      s.cpu.push((after.user + after.system - before.user - before.system) / result.requests.total);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const s of servers) {
    console.log(
      `${s.label.padEnd(14)} x-cache=${s.xCache}  CPU µs/request median ${median(s.cpu).toFixed(1)}  [${s.cpu.map((x) => x.toFixed(1)).join(" ")}]`,
    );
  }
  const [first, ...others] = servers;
  for (const s of others) {
    const perRound = median(s.cpu.map((c, i) => first.cpu[i] / c));
    console.log(
      `${first.label} ÷ ${s.label} by CPU: ratio of medians ${(median(first.cpu) / median(s.cpu)).toFixed(3)}, median of rounds ${perRound.toFixed(3)}`,
    );
  }
  if (alloc) {
    for (const s of servers) {
      await ask(s.child, { allocStart: true }, "allocStarted");
      const result = await autocannon({ url: s.url, connections: 32, amount: n });
      const { total, sites } = await ask(s.child, { allocStop: true }, "alloc");
      const requests = result.requests.total;
      console.log(`\n${s.label}: allocated ≈ ${(total / requests).toFixed(0)} bytes/request (sampled)`);
      for (const [site, bytes] of sites)
        console.log(`  ${(bytes / requests).toFixed(1).padStart(7)} B  ${site}`);
    }
  }
} finally {
  for (const s of servers) s.child.kill("SIGKILL");
}
