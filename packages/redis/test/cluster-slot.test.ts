// clusterSlot: the Redis Cluster hash slot of a key, as the server computes it.
import { describe, expect, it } from "@jest/globals";
import { clusterSlot } from "../src/cluster-slot.js";

describe("clusterSlot", () => {
  it("matches Redis's CRC16 slots", () => {
    expect(clusterSlot("123456789")).toBe(0x31c3 % 16384);
    expect(clusterSlot("foo")).toBe(12182);
    expect(clusterSlot("")).toBe(0);
  });

  it("hashes only a non-empty hash tag", () => {
    expect(clusterSlot("{user1000}.following")).toBe(clusterSlot("user1000"));
    expect(clusterSlot("foo{}{bar}")).toBe(clusterSlot("foo{}{bar}"));
    expect(clusterSlot("foo{}{bar}")).not.toBe(clusterSlot("bar"));
    expect(clusterSlot(Buffer.from("{a}1"))).toBe(clusterSlot("a"));
  });
});
