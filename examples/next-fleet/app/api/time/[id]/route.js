import { randomUUID } from "node:crypto";

// A cached route handler: the JSON body is rendered once and shared by every replica.
export const revalidate = 3600;
export const dynamicParams = true;
export function generateStaticParams() {
  return [];
}

export async function GET(_request, { params }) {
  const { id } = await params;
  return Response.json({ id, nonce: randomUUID(), pid: process.pid });
}
