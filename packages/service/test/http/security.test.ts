import { request as httpRequest } from "node:http";
import { read, startHarness } from "./fixtures.js";
import type { Harness } from "./fixtures.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A GET with full control over headers (fetch cannot set Host). */
function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string; xCache: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const slash = url.indexOf("/", url.indexOf("://") + 3);
    const path = url.slice(slash); // as written: new URL() would resolve dot segments
    const options = { host: target.hostname, port: target.port, path, headers, agent: false };
    const req = httpRequest(options, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body, xCache: String(res.headers["x-cache"]) }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("cache poisoning", () => {
  it("an unkeyed forwarding header never reaches the origin, so it cannot poison the entry", async () => {
    h = await startHarness((req, res) => {
      const host = (req.headers["x-forwarded-host"] as string | undefined) ?? "good.example";
      res.writeHead(200, { "cache-control": "max-age=60" });
      res.end(`<script src="https://${host}/app.js"></script>`);
    });
    const attack = await rawGet(`${h.proxy.url}/page`, { "x-forwarded-host": "evil.example" });
    expect(attack.body).not.toContain("evil.example");
    const victim = await rawGet(`${h.proxy.url}/page`, {});
    expect(victim).toEqual({
      status: 200,
      body: '<script src="https://good.example/app.js"></script>',
      xCache: "HIT",
    });
    expect(h.origin.seen.every((r) => r.headers["x-forwarded-host"] === undefined)).toBe(true);
  });

  it("a method-override header cannot turn a cached GET into another method at the origin", async () => {
    h = await startHarness((req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=60" });
      res.end(`${String(req.headers["x-http-method-override"] ?? "GET")} ${n}`);
    });
    expect((await rawGet(`${h.proxy.url}/a`, { "x-http-method-override": "DELETE" })).body).toBe("GET 1");
  });

  it("the key includes the Host the server saw: two virtual hosts never share entries", async () => {
    h = await startHarness((req, res) => {
      res.writeHead(200, { "cache-control": "max-age=60" });
      res.end(`site ${String(req.headers["x-site"])}`);
    });
    expect((await rawGet(`${h.proxy.url}/`, { host: "a.example", "x-site": "a" })).body).toBe("site a");
    const b = await rawGet(`${h.proxy.url}/`, { host: "b.example", "x-site": "b" });
    expect(b).toEqual({ status: 200, body: "site b", xCache: "MISS" });
    expect((await rawGet(`${h.proxy.url}/`, { host: "a.example" })).body).toBe("site a");
  });

  it("an error response caused by a poisoned request is never served as a 200", async () => {
    h = await startHarness((req, res, n) => {
      const bad = req.headers["x-bad"] !== undefined;
      res.writeHead(bad ? 400 : 200, { "cache-control": bad ? "no-store" : "max-age=60" });
      res.end(`${bad ? "bad" : "ok"} ${n}`);
    });
    expect((await rawGet(`${h.proxy.url}/a`, { "x-bad": "1" })).status).toBe(400);
    expect(await rawGet(`${h.proxy.url}/a`, {})).toEqual({ status: 200, body: "ok 2", xCache: "MISS" });
  });
});

describe("Authorization (RFC 9111 §3.5) and users", () => {
  it("does not store a response to an authorized request unless the response allows it", async () => {
    h = await startHarness((req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=60" });
      res.end(`${String(req.headers.authorization ?? "anonymous")} ${n}`);
    });
    expect((await read(await h.get("/me", { headers: { authorization: "Bearer alice" } }))).body).toBe(
      "Bearer alice 1",
    );
    expect((await read(await h.get("/me", { headers: { authorization: "Bearer bob" } }))).body).toBe(
      "Bearer bob 2",
    );
    expect(await read(await h.get("/me"))).toEqual({ status: 200, body: "anonymous 3", xCache: "MISS" });
    // and a stored anonymous response is not handed to an authorized request either
    expect((await read(await h.get("/me", { headers: { authorization: "Bearer alice" } }))).body).toBe(
      "Bearer alice 4",
    );
  });

  it("stores it when the response says `public` (or s-maxage / must-revalidate)", async () => {
    h = await startHarness((_req, res, n) => {
      res.writeHead(200, { "cache-control": "public, max-age=60" });
      res.end(`shared ${n}`);
    });
    await (await h.get("/doc", { headers: { authorization: "Bearer alice" } })).text();
    expect(await read(await h.get("/doc", { headers: { authorization: "Bearer bob" } }))).toEqual({
      status: 200,
      body: "shared 1",
      xCache: "HIT",
    });
  });

  it("a shared cache never stores a response that sets a cookie; a private cache keeps it", async () => {
    h = await startHarness((_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=60", "set-cookie": `session=${n}` });
      res.end(`body ${n}`);
    });
    await (await h.get("/a")).text();
    const second = await h.get("/a");
    expect(second.headers.get("set-cookie")).toBe("session=2");
    expect((await read(second)).xCache).toBe("MISS");
    await h.close();
    h = await startHarness(
      (_req, res, n) => {
        res.writeHead(200, { "cache-control": "max-age=60", "set-cookie": `session=${n}` });
        res.end(`body ${n}`);
      },
      { shared: false },
    );
    await (await h.get("/a")).text();
    const hit = await h.get("/a");
    expect(hit.headers.get("set-cookie")).toBe("session=1");
    expect((await read(hit)).xCache).toBe("HIT");
  });

  it("responses that vary on Cookie are kept per cookie", async () => {
    h = await startHarness((req, res) => {
      res.writeHead(200, { "cache-control": "max-age=60", vary: "Cookie" });
      res.end(`hello ${String(req.headers.cookie)}`);
    });
    expect((await read(await h.get("/", { headers: { cookie: "u=alice" } }))).body).toBe("hello u=alice");
    expect((await read(await h.get("/", { headers: { cookie: "u=bob" } }))).body).toBe("hello u=bob");
    expect(await read(await h.get("/", { headers: { cookie: "u=alice" } }))).toEqual({
      status: 200,
      body: "hello u=alice",
      xCache: "HIT",
    });
  });
});

describe("key normalization", () => {
  it("keeps the path byte for byte: a dot-segment path never shares the entry of the path it resolves to", async () => {
    h = await startHarness((req, res) => {
      // like Express: the raw path is routed, so /x/../a is not /a
      const found = req.url === "/a";
      res.writeHead(found ? 200 : 404, { "cache-control": "max-age=60" });
      res.end(found ? "the page" : "not found");
    });
    expect((await rawGet(`${h.proxy.url}/x/../a`, {})).status).toBe(404);
    expect((await rawGet(`${h.proxy.url}/x/%2e%2e/a`, {})).status).toBe(404);
    expect(await rawGet(`${h.proxy.url}/a`, {})).toEqual({ status: 200, body: "the page", xCache: "MISS" });
  });

  it("lower-cases the host and drops the default port", async () => {
    h = await startHarness((_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=60" });
      res.end(`body ${n}`);
    });
    await rawGet(`${h.proxy.url}/a`, { host: "Example.COM:80" });
    expect(await rawGet(`${h.proxy.url}/a`, { host: "example.com" })).toEqual({
      status: 200,
      body: "body 1",
      xCache: "HIT",
    });
  });
});
