import { randomUUID } from "node:crypto";
import { cacheLife, cacheTag } from "next/cache";

/** A "use cache" function: its result is shared by every replica and tagged `item-<id>`. */
export async function loadItem(id) {
  "use cache";
  cacheLife("days");
  cacheTag(`item-${id}`);
  return { id, nonce: randomUUID(), loadedAt: Date.now() };
}
