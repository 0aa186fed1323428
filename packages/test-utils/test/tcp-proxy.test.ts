import { createConnection } from "node:net";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { describeRedis, sendCommand, startRedis, startTcpProxy } from "../src/index.js";
import type { RedisHandle, TcpProxy } from "../src/index.js";

describeRedis("startTcpProxy", () => {
  let redis: RedisHandle;
  let proxy: TcpProxy;
  beforeAll(async () => {
    redis = await startRedis();
    proxy = await startTcpProxy({ target: { host: redis.host, port: redis.port } });
  });
  afterAll(async () => {
    await proxy.close();
    await redis.stop();
  });

  it("forwards commands to the target", async () => {
    expect(proxy.url).toBe(`redis://127.0.0.1:${proxy.port}`);
    expect(await sendCommand(proxy.host, proxy.port, ["ECHO", "through the proxy"])).toBe(
      "through the proxy",
    );
  });

  it("setLatency() delays replies", async () => {
    proxy.setLatency(60);
    const started = performance.now();
    expect(await sendCommand(proxy.host, proxy.port, ["PING"])).toBe("PONG");
    // two hops (request and reply) at 60 ms each
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    proxy.setLatency(0);
    expect(() => proxy.setLatency(-1)).toThrow(/latency/);
  });

  it("pause() holds bytes until resume()", async () => {
    proxy.pause();
    const reply = sendCommand(proxy.host, proxy.port, ["ECHO", "held"], 2_000);
    let settled = false;
    void reply.then(
      () => (settled = true),
      () => (settled = true),
    );
    await expect(sendCommand(proxy.host, proxy.port, ["PING"], 150)).rejects.toThrow(/no reply/);
    expect(settled).toBe(false);
    proxy.resume();
    expect(await reply).toBe("held");
  });

  it("cutAll() destroys live connections mid-command and keeps accepting new ones", async () => {
    proxy.pause();
    const socket = createConnection({ host: proxy.host, port: proxy.port });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => undefined);
    socket.write("*1\r\n$4\r\nPING\r\n");
    for (let i = 0; i < 200 && proxy.connectionCount === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(proxy.connectionCount).toBeGreaterThanOrEqual(1);
    proxy.cutAll();
    await closed;
    expect(proxy.connectionCount).toBe(0);
    proxy.resume();
    expect(await sendCommand(proxy.host, proxy.port, ["PING"])).toBe("PONG");
  });

  it("partition() cuts every connection and refuses new ones, on the same port, until heal()", async () => {
    expect(await sendCommand(proxy.host, proxy.port, ["PING"])).toBe("PONG");
    proxy.partition();
    expect(proxy.partitioned).toBe(true);
    await expect(sendCommand(proxy.host, proxy.port, ["PING"], 500)).rejects.toThrow();
    expect(proxy.connectionCount).toBe(0);
    proxy.heal();
    expect(proxy.partitioned).toBe(false);
    expect(await sendCommand(proxy.host, proxy.port, ["PING"])).toBe("PONG");
  });
});
