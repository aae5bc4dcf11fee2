/**
 * Reading an HTTP body with a size limit that holds while reading, so a
 * peer that sends (or announces) more than it may never makes us buffer it.
 *
 * @module
 */

/**
 * The bytes of `body`, or `undefined` as soon as more than `max` bytes have
 * arrived (the rest is then cancelled, never read). A missing body is empty.
 *
 * @example
 * ```ts
 * const der = await readLimited(request.body, 65536);
 * if (!der) return new Response("too large", { status: 413 });
 * ```
 */
export async function readLimited(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<Uint8Array | undefined> {
  if (!body) return new Uint8Array();
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > max) {
        reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
