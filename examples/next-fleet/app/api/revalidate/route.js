import { revalidatePath, revalidateTag } from "next/cache";

export const dynamic = "force-dynamic";

// POST /api/revalidate?tag=item-1            expire the tag now (the next read renders fresh)
// POST /api/revalidate?tag=item-1&mode=max   mark it stale (served once more while re-rendering)
// POST /api/revalidate?path=/p/1             revalidatePath
export async function POST(request) {
  const url = new URL(request.url);
  const tag = url.searchParams.get("tag");
  const path = url.searchParams.get("path");
  if (tag) revalidateTag(tag, url.searchParams.get("mode") === "max" ? "max" : { expire: 0 });
  if (path) revalidatePath(path);
  return Response.json({ tag, path, pid: process.pid });
}
