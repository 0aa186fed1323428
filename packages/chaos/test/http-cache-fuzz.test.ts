import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import type { CacheEntry } from "@cachet/tier";
import { ManualClock } from "@cachet/tier";
import { createHttpCache } from "@cachet/service";
import type { HttpCacheValue } from "@cachet/service";

// The HTTP cache reads `Cache-Control` from origins it does not control. Whatever the header
// says, handling a response must not throw, a shared cache must never store a response marked
// `private`, nor one marked `no-store` (unless `must-understand` lets it store a status it
// understands, RFC 9111 §5.2.2.3), and a client must only ever get the body of the URL (and
// variant) it asked for.

const RUNS = Number(process.env["FUZZ_RUNS"] ?? 150);

/** A store that keeps everything and records every insert. */
class RecordingStore {
  readonly map = new Map<string, CacheEntry<HttpCacheValue>>();
  readonly inserted: HttpCacheValue[] = [];
  get(key: string): Promise<CacheEntry<HttpCacheValue> | undefined> {
    return Promise.resolve(this.map.get(key));
  }
  insert(key: string, entry: CacheEntry<HttpCacheValue>): Promise<void> {
    this.inserted.push(entry.value);
    this.map.set(key, entry);
    return Promise.resolve();
  }
  invalidate(key: string): Promise<void> {
    this.map.delete(key);
    return Promise.resolve();
  }
  storedBodies(): string[] {
    return this.inserted.flatMap((v) =>
      v.kind === "response" ? [Buffer.from(v.body).toString("utf8")] : [],
    );
  }
}

/** The same store with `getSync`, so that fresh hits take the engine's synchronous path. */
class SyncRecordingStore extends RecordingStore {
  getSync(key: string): CacheEntry<HttpCacheValue> | undefined {
    return this.map.get(key);
  }
}

/**
 * Directive names of a Cache-Control value as RFC 9110 §5.6 reads it: elements separated by
 * commas outside quoted strings, each named by the token before `=`, `;` or whitespace.
 */
function directiveNames(values: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const value of values) {
    let element = "";
    let quoted = false;
    const flush = (): void => {
      const name = element
        .trim()
        .split(/[=;\s]/)[0]!
        .toLowerCase();
      if (name) names.add(name);
      element = "";
    };
    for (let i = 0; i < value.length; i++) {
      const c = value[i]!;
      if (quoted && c === "\\") {
        element += c + (value[i + 1] ?? "");
        i++;
        continue;
      }
      if (c === '"') quoted = !quoted;
      if (c === "," && !quoted) flush();
      else element += c;
    }
    flush();
  }
  return names;
}

const HEADER_CHARS = [..." \t!#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~\""];
const DIRECTIVES = [
  "max-age",
  "s-maxage",
  "no-store",
  "private",
  "public",
  "no-cache",
  "must-revalidate",
  "proxy-revalidate",
  "must-understand",
  "stale-while-revalidate",
  "stale-if-error",
  "immutable",
  "x-ext",
];
const randomCase = (s: string, mask: number): string =>
  [...s].map((c, i) => ((mask >> (i % 30)) & 1 ? c.toUpperCase() : c)).join("");

const argument = fc.oneof(
  fc.constant(""),
  fc.integer({ min: -5, max: 100_000 }).map(String),
  fc.constantFrom("0", "1.5", "-1", "1e3", "99999999999999999999", "60 ", " 60"),
  fc
    .string({ unit: fc.constantFrom(...HEADER_CHARS), maxLength: 12 })
    .map((s) => `"${s.replace(/["\\]/g, "")}"`),
  fc.constantFrom('"no-store"', '"private, no-store"', '"a\\"b, private"', '"set-cookie"', "private"),
);
const directive = fc
  .tuple(fc.constantFrom(...DIRECTIVES), fc.option(argument, { nil: undefined }), fc.nat())
  .map(([name, arg, mask]) => randomCase(name, mask) + (arg === undefined ? "" : `=${arg}`));
const separator = fc.constantFrom(",", ", ", " , ", ",,", ",\t", " ,");
const structured = fc
  .tuple(
    fc.array(directive, { minLength: 1, maxLength: 6 }),
    fc.array(separator, { minLength: 6, maxLength: 6 }),
  )
  .map(([ds, seps]) => ds.map((d, i) => (i === 0 ? d : seps[i]! + d)).join(""));
const junk = fc.string({ unit: fc.constantFrom(...HEADER_CHARS), maxLength: 40 });
const headerValue = fc.oneof({ weight: 4, arbitrary: structured }, { weight: 1, arbitrary: junk });

interface Scenario {
  cacheControl: string[];
  vary: boolean;
  requests: { path: number; lang: number; hostCase: boolean; advance: number }[];
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  cacheControl: fc.array(headerValue, { minLength: 1, maxLength: 2 }),
  vary: fc.boolean(),
  requests: fc.array(
    fc.record({
      path: fc.nat({ max: 3 }),
      lang: fc.nat({ max: 2 }),
      hostCase: fc.boolean(),
      advance: fc.nat({ max: 120_000 }),
    }),
    { minLength: 2, maxLength: 8 },
  ),
});

// Path 0 carries the fuzzed header; the others are ordinary cacheable responses (one of them
// differs from path 0 only by case, one only by a query parameter).
const PATHS = ["/item?id=1", "/Item?id=1", "/item?id=1&x", "/other"];
const LANGS = [undefined, "en", "fr"];

async function runScenario(
  s: Scenario,
  mode: "standards" | "server",
  read: "async" | "sync" = "async",
): Promise<RecordingStore> {
  const store = read === "sync" ? new SyncRecordingStore() : new RecordingStore();
  const clock = new ManualClock(1_700_000_000_000);
  const httpCache = createHttpCache({ cache: store, mode, shared: true, clock });
  const handler = httpCache.fetch(async (request) => {
    const url = new URL(request.url);
    const pathAndQuery = url.pathname + url.search;
    const lang = request.headers.get("accept-language") ?? "-";
    const headers = new Headers();
    if (pathAndQuery === PATHS[0]) for (const v of s.cacheControl) headers.append("cache-control", v);
    else headers.set("cache-control", "max-age=60");
    if (s.vary) headers.set("vary", "accept-language");
    return new Response(`${pathAndQuery}|${s.vary ? lang : "*"}`, { status: 200, headers });
  });
  for (const r of s.requests) {
    clock.advance(r.advance);
    const host = r.hostCase ? "EXAMPLE.com" : "example.com";
    const lang = LANGS[r.lang];
    const request = new Request(`http://${host}${PATHS[r.path]}`, {
      headers: lang === undefined ? {} : { "accept-language": lang },
    });
    const response = await handler(request);
    const body = await response.text();
    // The body of this URL, and of this variant when the origin varies on the language.
    expect(body).toBe(`${PATHS[r.path]}|${s.vary ? (lang ?? "-") : "*"}`);
  }
  return store;
}

describe.each([
  ["standards", "async"],
  ["server", "async"],
  ["standards", "sync"],
  ["server", "sync"],
] as const)(
  "createHttpCache (shared, %s mode, %s store reads) against random Cache-Control",
  (mode, read) => {
    it("never throws, never stores private or no-store responses, never serves another URL's body", async () => {
      await fc.assert(
        fc.asyncProperty(scenario, async (s) => {
          const store = await runScenario(s, mode, read);
          const names = directiveNames(s.cacheControl);
          const forbidden = names.has("private") || (names.has("no-store") && !names.has("must-understand"));
          if (forbidden) {
            const leaked = store.storedBodies().filter((body) => body.startsWith(`${PATHS[0]}|`));
            expect(leaked).toEqual([]);
          }
        }),
        { numRuns: RUNS },
      );
    });
  },
);

describe("regressions", () => {
  const cases: [string, string[]][] = [
    ["private inside another directive's quoted value does not count", ['x-ext="private", max-age=60']],
    ["upper-case PRIVATE", ["max-age=60, PRIVATE"]],
    ["private with a field-name argument", ['max-age=60, private="set-cookie"']],
    ["no-store after an empty element and a tab", ["max-age=60,,\tno-store"]],
    ["two Cache-Control fields, the second says private", ["max-age=60", "private"]],
    ["conflicting max-age values and no-store", ["max-age=60, max-age=10, no-store"]],
  ];
  it.each(cases)("%s", async (_name, cacheControl) => {
    const store = await runScenario(
      {
        cacheControl,
        vary: false,
        requests: [
          { path: 0, lang: 0, hostCase: false, advance: 0 },
          { path: 0, lang: 0, hostCase: true, advance: 1_000 },
        ],
      },
      "standards",
    );
    const names = directiveNames(cacheControl);
    const stored = store.storedBodies().some((b) => b.startsWith(`${PATHS[0]}|`));
    expect(stored).toBe(!(names.has("private") || names.has("no-store")));
  });
});
