import { compose } from "../src/index.js";
import type { Layer, Service } from "../src/index.js";

function recording(log: string[], name: string): Layer<Service<string, string>> {
  return (inner) => ({
    call: async (req) => {
      log.push(`${name}>`);
      const res = await inner.call(`${req}${name}`);
      log.push(`<${name}`);
      return `${res}${name}`;
    },
  });
}

describe("compose", () => {
  it("applies the first layer outermost", async () => {
    const log: string[] = [];
    const service: Service<string, string> = {
      call: async (req) => {
        log.push(`service(${req})`);
        return "r";
      },
    };
    const wrapped = compose(recording(log, "a"), recording(log, "b"), recording(log, "c"))(service);
    await expect(wrapped.call("q")).resolves.toBe("rcba");
    expect(log).toEqual(["a>", "b>", "c>", "service(qabc)", "<c", "<b", "<a"]);
  });

  it("rejects a layer that is not a function with INVALID_OPTION naming its position", () => {
    const notALayer = { call: () => Promise.resolve() } as unknown as Layer<Service<string, string>>;
    expect(() => compose(recording([], "a"), notALayer)).toThrow(/`layers\[1\]` must be a layer/);
  });

  it("returns the service itself when given no layers", () => {
    const service: Service<number, number> = { call: async (n) => n };
    expect(compose()(service)).toBe(service);
  });
});
