import { randomUUID } from "node:crypto";
import { loadItem } from "../../item.js";

// Rendered on every request; only the "use cache" function's result is cached.
export const dynamic = "force-dynamic";

export default async function Page({ params }) {
  const { id } = await params;
  const item = await loadItem(id);
  return (
    <main>
      <p id="render">{randomUUID()}</p>
      <p id="item">{item.nonce}</p>
      <p id="pid">{process.pid}</p>
    </main>
  );
}
