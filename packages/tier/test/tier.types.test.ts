// Type-level tests, checked by `pnpm typecheck` (jest ignores this file: see jest.config.js).
import { CacheEntry, jsonCodec, structuredCodec } from "../src/index.js";
import { MockCache } from "../src/testing/index.js";
import type { CacheTier, Codec } from "../src/index.js";
import type { MockCacheOperation } from "../src/testing/index.js";
import { tierConformanceCases } from "../src/testing/index.js";
import type { ConformanceCaseId } from "../src/testing/index.js";

interface User {
  id: number;
}

declare const users: CacheTier<string, User>;

// insert refuses an entry of the wrong value type
// @ts-expect-error CacheEntry<string> is not CacheEntry<User>
void users.insert("k", new CacheEntry("not a user"));
void users.insert("k", new CacheEntry({ id: 1 }));

// the codec singletons are assignable to any Codec<V> without a cast
const userCodec: Codec<User> = jsonCodec;
const structured: Codec<Map<string, Date>> = structuredCodec;
export const decoded: User = userCodec.decode(userCodec.encode({ id: 1 }));
void structured;

// MockCache is a CacheTier, and its operations are a closed set
export const mock: CacheTier<string, User> = new MockCache<string, User>();
// @ts-expect-error "fetch" is not a MockCache operation
export const badOp: MockCacheOperation = "fetch";

// exclude is type-checked against the case ids and the optional-method groups
tierConformanceCases({ create: () => mock as never, exclude: { size: "no size()", batch: "none" } });
// @ts-expect-error "sizes" is not a case id
tierConformanceCases({ create: () => mock as never, exclude: { sizes: "typo" } });
export const id: ConformanceCaseId = "keys-glob";
