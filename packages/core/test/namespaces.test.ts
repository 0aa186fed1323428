// Namespaces: prefixed keys, and a clear() that removes only the namespace's entries everywhere.
import { Cache, ManualClock } from "../src/index.js";
import { fleet } from "./fixtures.js";

describe("namespaces", () => {
  it("prefixes keys and clears only its own entries, in every instance", async () => {
    const { a, b, shared } = fleet();
    const usersA = a.namespace("users");
    const usersB = b.namespace("users");
    const orders = a.namespace("orders");
    await usersA.insert("1", "ada");
    await orders.insert("1", "order");
    expect((await shared.inner.get("users:1"))?.value).toBe("ada");
    expect((await usersB.get("1"))?.value).toBe("ada");
    await usersA.clear();
    expect(await usersA.get("1")).toBeUndefined();
    expect(await usersB.get("1")).toBeUndefined();
    expect((await orders.get("1"))?.value).toBe("order");
    expect(await usersA.getOrInsert("1", (id) => `reloaded ${id}`)).toBe("reloaded 1");
  });

  it("clear() also forgets absences remembered in the namespace (negative caching)", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .negativeTtl(60_000)
      .build();
    const users = cache.namespace("users");
    let calls = 0;
    expect(await users.optionallyGetOrInsert("u", () => (calls++, undefined))).toBeUndefined();
    expect(await users.optionallyGetOrInsert("u", () => (calls++, undefined))).toBeUndefined();
    expect(calls).toBe(1);
    clock.advance(1);
    await users.clear();
    expect(await users.optionallyGetOrInsert("u", () => (calls++, "found"))).toBe("found");
    expect(calls).toBe(2);
  });

  it("nested namespaces are cleared with their parent", async () => {
    const { a } = fleet();
    const tenant = a.namespace("tenant-1");
    const users = tenant.namespace("users");
    await users.insert("u", "x");
    expect(users.keyOf("u")).toBe("tenant-1:users:u");
    await tenant.clear();
    expect(await users.get("u")).toBeUndefined();
  });

  it("rejects a name with a separator", () => {
    const { a } = fleet();
    expect(() => a.namespace("a:b")).toThrow(/`namespace`/);
  });
});
