import { MockCache } from "@cachet/tier/testing";
import type { ManualClock } from "@cachet/tier";
import type { MockCacheOperation } from "@cachet/tier/testing";
import { tierConformanceCases } from "@cachet/tier/testing";
import type { ConformanceTarget } from "@cachet/tier/testing";
import {
  ServiceTier,
  circuitBreaker,
  compose,
  concurrencyLimit,
  retry,
  tap,
  tierAsService,
  timeout,
} from "../src/index.js";
import type { CacheService } from "../src/index.js";

const DEFAULT_TTL = 30 * 60_000;
const OPERATIONS: readonly MockCacheOperation[] = [
  "get",
  "insert",
  "invalidate",
  "clear",
  "getMany",
  "insertMany",
  "invalidateMany",
];

/** A kit target: a ServiceTier over `wrap(tierAsService(mock))`, closing the mock on close. */
function target(
  wrap: (
    service: CacheService<string, string>,
    clock: ManualClock,
    mock: MockCache<string, string>,
  ) => CacheService<string, string>,
): ConformanceTarget {
  return {
    create: ({ clock }) => {
      const mock = new MockCache<string, string>({ clock, ttl: DEFAULT_TTL });
      return new ServiceTier({
        name: "service",
        service: wrap(tierAsService(mock), clock, mock),
        close: () => mock.close(),
      });
    },
    defaultTtl: DEFAULT_TTL,
  };
}

function register(cases: ReturnType<typeof tierConformanceCases>): void {
  it("runs every case of the kit, none skipped", () => {
    expect(cases.filter((c) => c.skip !== undefined)).toEqual([]);
  });
  for (const c of cases) it(c.name, c.run);
}

describe("ServiceTier over tierAsService(MockCache) conformance", () => {
  const cases = tierConformanceCases(target((service) => service));
  it("runs every case, none skipped", () => {
    expect(cases.filter((c) => c.skip !== undefined)).toEqual([]);
  });
  register(cases);
});

describe("ServiceTier over timeout + retry conformance", () => {
  register(
    tierConformanceCases(
      target((service, clock) =>
        compose(retry({ attempts: 3, backoff: 0, clock }), timeout(1_000, { clock }))(service),
      ),
    ),
  );
});

describe("ServiceTier over every layer, with a backend that fails each operation once, conformance", () => {
  register(
    tierConformanceCases(
      target((service, clock, mock) => {
        for (const op of OPERATIONS) mock.failNext(op);
        return compose(
          tap({ onError: () => undefined }),
          circuitBreaker({ failureThreshold: 10, clock }),
          concurrencyLimit(4),
          retry({ attempts: 2, backoff: 0, clock }),
          timeout(1_000, { clock }),
        )(service);
      }),
    ),
  );
});
