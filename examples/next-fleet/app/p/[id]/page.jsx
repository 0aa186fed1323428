import { randomUUID } from "node:crypto";
import { loadItem } from "../../item.js";

// An ISR page: rendered on first request, cached for an hour, shared by every replica.
export const revalidate = 3600;
export const dynamicParams = true;
export function generateStaticParams() {
  return [];
}

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
