const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++)
    crc = ((crc << 8) ^ CRC16_TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!) & 0xffff;
  return crc;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * The Redis Cluster hash slot (0..16383) of a key: CRC16 of the key, or of its hash tag (the
 * bytes between the first `{` and the next `}`, when that is not empty), modulo 16384.
 */
export function clusterSlot(key: string | Uint8Array): number {
  const bytes = typeof key === "string" ? Buffer.from(key) : key;
  const open = bytes.indexOf(OPEN_BRACE);
  if (open !== -1) {
    const close = bytes.indexOf(CLOSE_BRACE, open + 1);
    if (close > open + 1) return crc16(bytes, open + 1, close) % 16384;
  }
  return crc16(bytes, 0, bytes.length) % 16384;
}

/** Groups items by a computed key, keeping each item's original index. */
export function groupBy<T, G>(
  items: readonly T[],
  groupOf: (item: T) => G,
): Map<G, { item: T; index: number }[]> {
  const groups = new Map<G, { item: T; index: number }[]>();
  items.forEach((item, index) => {
    const group = groupOf(item);
    let list = groups.get(group);
    if (!list) groups.set(group, (list = []));
    list.push({ item, index });
  });
  return groups;
}
