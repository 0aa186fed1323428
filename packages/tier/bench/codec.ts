// Compares the candidates for `structuredCodec` (node's v8 serializer and msgpackr in structured-clone
// mode) on encode+decode throughput and encoded size, with JSON as a reference point.
// Run: pnpm --filter @cachet/tier exec tsx bench/codec.ts
import { Packr } from "msgpackr";
import { cpus } from "node:os";
import v8 from "node:v8";
import { jsonCodec } from "../src/json-codec.js";
import { structuredCodec } from "../src/structured-codec.js";

interface Candidate {
  readonly name: string;
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

const packr = new Packr({ structuredClone: true, moreTypes: true, mapsAsObjects: false });
const candidates: Candidate[] = [
  { name: "v8.serialize (raw)", encode: (v) => v8.serialize(v), decode: (b) => v8.deserialize(b) as unknown },
  {
    name: "msgpackr structured (raw)",
    encode: (v) => packr.pack(v),
    decode: (b) => packr.unpack(b) as unknown,
  },
  {
    name: "structuredCodec (checked)",
    encode: (v) => structuredCodec.encode(v),
    decode: (b) => structuredCodec.decode(b),
  },
];
const jsonCandidates: Candidate[] = [
  {
    name: "JSON.stringify/parse (raw)",
    encode: (v) => Buffer.from(JSON.stringify(v)),
    decode: (b) => JSON.parse(Buffer.from(b).toString()) as unknown,
  },
  { name: "jsonCodec (checked)", encode: (v) => jsonCodec.encode(v), decode: (b) => jsonCodec.decode(b) },
];

function user(i: number) {
  return {
    id: i,
    email: `user${i}@example.com`,
    name: { first: "Ada", last: `Lovelace ${i}` },
    roles: ["admin", "editor"],
    active: i % 2 === 0,
    score: i * 1.25,
    address: { street: "12 Analytical Engine Rd", city: "London", zip: "N1 9GU" },
    preferences: { theme: "dark", locale: "en-GB", notifications: { email: true, sms: false } },
  };
}

// A realistic API payload (~2 KiB as JSON): a page of users.
const realistic = { page: 1, total: 2_000, items: Array.from({ length: 8 }, (_, i) => user(i)) };
// About 1 MiB as JSON.
const large = { items: Array.from({ length: 3_300 }, (_, i) => user(i)) };
// Date-, Map- and Set-heavy: what JSON cannot carry.
const typed = {
  createdAt: new Date(1_700_000_000_000),
  sessions: new Map(
    Array.from({ length: 50 }, (_, i) => [`s${i}`, { at: new Date(1_700_000_000_000 + i), hits: BigInt(i) }]),
  ),
  tags: new Set(Array.from({ length: 50 }, (_, i) => `tag-${i}`)),
  thumbnail: Buffer.alloc(512, 7),
};

function measure(c: Candidate, value: unknown, budgetMs: number): { opsPerSec: number; bytes: number } {
  const bytes = c.encode(value).byteLength;
  for (let i = 0; i < 20; i++) c.decode(c.encode(value)); // warm-up
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(budgetMs) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 10; i++) c.decode(c.encode(value));
    ops += 10;
    now = process.hrtime.bigint();
  }
  return { opsPerSec: (ops * 1e9) / Number(now - start), bytes };
}

const budget = Number(process.env.BENCH_MS ?? 1_000);
const rows: string[] = ["| payload | codec | encode+decode ops/s | bytes |", "|---|---|---:|---:|"];
for (const [label, value, withJson] of [
  ["realistic (8 users)", realistic, true],
  ["~1 MiB (3,300 users)", large, true],
  ["Date/Map/Set/BigInt/Buffer", typed, false],
] as const) {
  for (const c of withJson ? [...candidates, ...jsonCandidates] : candidates) {
    const { opsPerSec, bytes } = measure(c, value, budget);
    rows.push(
      `| ${label} | ${c.name} | ${Math.round(opsPerSec).toLocaleString("en-US")} | ${bytes.toLocaleString("en-US")} |`,
    );
  }
}
console.log(
  `Node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"}, ${new Date().toISOString().slice(0, 10)}`,
);
console.log(rows.join("\n"));
