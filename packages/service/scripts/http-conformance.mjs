// Runs the independent HTTP caching test suite `http-cache-tests` (cache-tests.fyi, by Mark
// Nottingham) against two reverse proxies on 127.0.0.1:
//   - cachet: node:http + createHttpCache({ mode: "standards" }).middleware() in front of the suite's server
//   - undici: node:http forwarding through undici 7's `interceptors.cache({ type: "shared" })` (the yardstick)
// Each target runs in its own child process (the suite's runner keeps its results in module state).
// Usage: node scripts/http-conformance.mjs [--json] [--target=cachet|undici] [--id=test-id]
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const suiteDir = dirname(require.resolve("http-cache-tests/package.json"));
const suiteUrl = (path) => pathToFileURL(join(suiteDir, path)).href;

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k, v ?? "true"];
  }),
);

// The package's own hop-by-hop list (built by `pnpm build`), so that the proxies and the cache agree.
const cachetDist = pathToFileURL(join(here, "..", "dist", "index.js")).href;
const HOP_BY_HOP = new Set((await import(cachetDist)).HOP_BY_HOP_FIELDS);

/**
 * Required tests of http-cache-tests 0.4.5 whose expectation RFC 9111 contradicts. Each wants a
 * response with an unusable `Age` treated as stale; RFC 9111 §5.1 says a cache uses the first
 * member of a list and ignores an invalid value, so the response is fresh and reused. The suite
 * behind cache-tests.fyi has since been corrected to match. A failure of one of these is reported
 * as `rfc9111`, not as `fail`; a pass would be a regression from RFC 9111 (and counts as a pass).
 */
const CONTRADICTED_BY_RFC9111 = new Map([
  ["age-parse-nonnumeric", "Age: abc is invalid, hence ignored"],
  ["age-parse-negative", "Age: -7200 is invalid, hence ignored"],
  ["age-parse-float", "Age: 7200.0 is invalid, hence ignored"],
  ["age-parse-prefix-twoline", "Age lines 0 and 7200: the first member, 0, counts"],
  ["age-parse-dup-0", "Age: 0, 0: the first member, 0, counts"],
  ["age-parse-dup-0-twoline", "two Age: 0 lines: the first member, 0, counts"],
  ["age-parse-dup-old", "Age: 3600, 3600 with max-age=10000: the first member, 3600, counts"],
  ["age-parse-parameter", "Age: 7200;foo=bar is invalid, hence ignored"],
  ["age-parse-numeric-parameter", "Age: 7200;foo=111 is invalid, hence ignored"],
]);

async function listen(server) {
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

/** The suite's own origin handlers, bound to 127.0.0.1 on an ephemeral port. */
async function startOrigin(http) {
  const [config, test, state, file] = await Promise.all(
    ["handle-config", "handle-test", "handle-state", "handle-file"].map(
      async (name) => (await import(suiteUrl(`server/${name}.mjs`))).default,
    ),
  );
  const server = http.createServer((request, response) => {
    const segments = new URL(request.url, "http://127.0.0.1/").pathname.split("/");
    segments.shift();
    const dispatch = segments.shift();
    if (dispatch === "config") config(segments, request, response);
    else if (dispatch === "test") test(segments, request, response);
    else if (dispatch === "state") state(segments, request, response);
    else file(new URL(request.url, "http://127.0.0.1/"), request, response);
  });
  return { server, url: await listen(server) };
}

/** Response fields a reverse proxy passes on: no hop-by-hop fields, none listed in `Connection`. */
function responseHeaders(rawHeaders) {
  const pairs = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    pairs.push([rawHeaders[i].toLowerCase(), rawHeaders[i + 1]]);
  const listed = new Set(
    pairs
      .filter(([n]) => n === "connection")
      .flatMap(([, v]) => v.split(",").map((t) => t.trim().toLowerCase())),
  );
  const out = {};
  for (const [name, value] of pairs) {
    if (HOP_BY_HOP.has(name) || listed.has(name)) continue;
    if (out[name] === undefined) out[name] = value;
    else out[name] = [].concat(out[name], value);
  }
  return out;
}

function forwardHeaders(headers) {
  const out = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && name !== "host") out[name] = value;
  }
  return out;
}

async function startCachetProxy(http, originUrl) {
  const { createHttpCache } = await import(cachetDist);
  // A minimal Map-backed store: the suite measures HTTP semantics, not the storage tier.
  const map = new Map();
  const store = {
    async get(key) {
      const entry = map.get(key);
      if (entry === undefined) return undefined;
      if (entry.retainUntil !== undefined && Date.now() >= entry.retainUntil) {
        map.delete(key);
        return undefined;
      }
      return entry;
    },
    async insert(key, entry) {
      map.set(key, entry); // the HTTP cache always stamps cachedAt
    },
    async invalidate(key) {
      map.delete(key);
    },
  };
  const cache = createHttpCache({
    cache: store,
    mode: "standards",
    shared: true,
    // opt-in Surrogate-Capability so that targeted Surrogate-Control directives reach this cache
    policy: { surrogateName: "cachet" },
    onError: (e) => console.error(e),
  });
  const middleware = cache.middleware();
  const server = http.createServer((req, res) => {
    middleware(req, res, () => {
      let upstreamResponse;
      const upstream = http.request(
        `${originUrl}${req.url}`,
        { method: req.method, headers: forwardHeaders(req.headers) },
        (response) => {
          upstreamResponse = response;
          res.writeHead(response.statusCode, responseHeaders(response.rawHeaders));
          response.pipe(res);
        },
      );
      upstream.on("error", (error) => {
        // After the head was forwarded, an error can only truncate the response (or, as in the
        // suite's Content-Length tests, be trailing garbage after a complete one).
        if (res.headersSent) {
          if (upstreamResponse?.complete !== true) res.destroy(error);
          return;
        }
        res.statusCode = 502;
        res.end(String(error));
      });
      // A background revalidation runs after the client was answered, when Node has already
      // drained the (empty) request body: GET and HEAD need no piping.
      if (req.method === "GET" || req.method === "HEAD") upstream.end();
      else req.pipe(upstream);
    });
  });
  return { server, url: await listen(server), close: async () => undefined };
}

async function startUndiciProxy(http, originUrl) {
  const { Agent, interceptors, request } = await import("undici");
  const agent = new Agent().compose(interceptors.cache({ type: "shared" }));
  const server = http.createServer(async (req, res) => {
    try {
      const hasBody = req.method !== "GET" && req.method !== "HEAD";
      const response = await request(`${originUrl}${req.url}`, {
        method: req.method,
        headers: forwardHeaders(req.headers),
        body: hasBody ? req : undefined,
        dispatcher: agent,
      });
      const raw = [];
      for (const [name, value] of Object.entries(response.headers)) {
        for (const v of [].concat(value)) raw.push(name, v);
      }
      res.writeHead(response.statusCode, responseHeaders(raw));
      for await (const chunk of response.body) res.write(chunk);
      res.end();
    } catch (error) {
      res.statusCode = 502;
      res.end(String(error));
    }
  });
  return { server, url: await listen(server), close: () => agent.close() };
}

async function runTarget(target, id) {
  const http = await import("node:http");
  const origin = await startOrigin(http);
  const proxy =
    target === "undici" ? await startUndiciProxy(http, origin.url) : await startCachetProxy(http, origin.url);
  const { runTests, getResults } = await import(suiteUrl("client/runner.mjs"));
  const tests = (await import(suiteUrl("tests/index.mjs"))).default;
  tests.push((await import(suiteUrl("tests/surrogate-control.mjs"))).default);
  const suiteRequire = createRequire(join(suiteDir, "package.json"));
  const fetch = (await import(pathToFileURL(suiteRequire.resolve("node-fetch")).href)).default;
  let selected = tests;
  if (id !== undefined) {
    selected = [];
    for (const suite of tests) {
      for (const test of suite.tests) {
        if (test.id === id) selected.push({ ...suite, tests: [{ ...test, dump: true }] });
      }
    }
  }
  // The suite's server logs a warning for every unexpected request; keep stdout for results.
  const log = console.log;
  if (id === undefined) console.log = () => undefined;
  await runTests(selected, fetch, false, proxy.url);
  console.log = log;
  await new Promise((resolve) => proxy.server.close(resolve));
  await proxy.close();
  await new Promise((resolve) => origin.server.close(resolve));
  return getResults();
}

/** Classifies results like the suite's own display code (lib/display.mjs), dependencies included. */
function classify(tests, results) {
  const byId = new Map();
  for (const suite of tests) for (const test of suite.tests) byId.set(test.id, test);
  const memo = new Map();
  const kindOf = (test) => test.kind ?? "required";
  const resultOf = (id) => {
    if (memo.has(id)) return memo.get(id);
    const test = byId.get(id);
    const result = results[id];
    let out;
    if (result === undefined) out = "untested";
    else if ((test.depends_on ?? []).some((dep) => !["pass", "yes"].includes(resultOf(dep))))
      out = "dependency_fail";
    else if (Array.isArray(result) && result[0] === "Setup")
      out = result[1] === "retry" ? "retry" : "setup_fail";
    else if (kindOf(test) === "check") out = result === true ? "yes" : "no";
    else if (result === true) out = "pass";
    else if (Array.isArray(result) && result[0] !== "Assertion") out = "harness_fail";
    else if (kindOf(test) === "optimal") out = "optional_fail";
    else out = CONTRADICTED_BY_RFC9111.has(id) ? "rfc9111" : "fail";
    memo.set(id, out);
    return out;
  };
  const summary = {};
  const outcomes = {};
  const failures = { required: [], optimal: [] };
  for (const [id, test] of byId) {
    if (test.browser_only === true) continue;
    const kind = kindOf(test);
    const outcome = resultOf(id);
    outcomes[id] = outcome;
    summary[kind] ??= { total: 0 };
    summary[kind].total++;
    summary[kind][outcome] = (summary[kind][outcome] ?? 0) + 1;
    if ((kind === "required" || kind === "optimal") && outcome !== "pass") {
      const detail = Array.isArray(results[id]) ? results[id][1] : "";
      failures[kind].push({ id, outcome, detail, name: test.name });
    }
  }
  return { summary, failures, outcomes };
}

async function child() {
  const results = await runTarget(args.get("target"), args.get("id"));
  process.stdout.write(`\n@@RESULTS@@${JSON.stringify(results)}\n`);
}

function runChild(target) {
  return new Promise((resolve, reject) => {
    const extra = args.has("id") ? [`--id=${args.get("id")}`] : [];
    const proc = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), "--child", `--target=${target}`, ...extra],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.on("error", reject);
    proc.on("close", (code) => {
      const at = out.lastIndexOf("@@RESULTS@@");
      if (code !== 0 || at === -1) return reject(new Error(`${target} run failed (exit ${code})\n${out}`));
      if (args.has("id")) process.stdout.write(out.slice(0, at));
      resolve(JSON.parse(out.slice(at + "@@RESULTS@@".length)));
    });
  });
}

async function main() {
  const tests = (await import(suiteUrl("tests/index.mjs"))).default;
  tests.push((await import(suiteUrl("tests/surrogate-control.mjs"))).default);
  const suiteVersion = require("http-cache-tests/package.json").version;
  const undiciVersion = require("undici/package.json").version;
  const targets = args.has("target") ? [args.get("target")] : ["cachet", "undici"];
  const report = {};
  for (const target of targets) {
    const started = Date.now();
    const results = await runChild(target);
    report[target] = { ...classify(tests, results), seconds: Math.round((Date.now() - started) / 1000) };
  }
  if (args.has("json")) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(`http-cache-tests ${suiteVersion}, Node ${process.version}, undici ${undiciVersion}`);
  console.log("target   required pass/total   optimal pass/total   (other required outcomes)");
  for (const [target, { summary, seconds }] of Object.entries(report)) {
    const r = summary.required;
    const o = summary.optimal;
    const other = Object.entries(r)
      .filter(([k]) => k !== "total" && k !== "pass")
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    console.log(
      `${target.padEnd(8)} ${`${r.pass ?? 0}/${r.total}`.padStart(13)} ${`${o.pass ?? 0}/${o.total}`.padStart(20)}   (${other}) ${seconds}s`,
    );
  }
  for (const [target, { failures }] of Object.entries(report)) {
    if (args.has("quiet")) break;
    console.log(`\n${target}: required tests not passed`);
    for (const f of failures.required) {
      const why = f.outcome === "rfc9111" ? ` (RFC 9111 §5.1: ${CONTRADICTED_BY_RFC9111.get(f.id)})` : "";
      console.log(`  ${f.outcome.padEnd(15)} ${f.id}  ${f.detail}${why}`);
    }
  }
}

if (args.has("child")) await child();
else await main();
