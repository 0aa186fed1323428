/**
 * The bytes stored under each Redis key: a small binary header with the entry's metadata, then the
 * codec's bytes for the value.
 *
 * ```
 * offset  size  field
 * 0       1     magic 0xCA
 * 1       1     version (1)
 * 2       1     flags: 1 = ttl, 2 = staleFor, 4 = tags
 * 3       8     cachedAt, float64 BE (epoch ms)
 * …       8     ttl, float64 BE            (flag 1)
 * …       8     staleFor, float64 BE       (flag 2)
 * …       var   tag count (varint), then per tag: byte length (varint) + UTF-8   (flag 4)
 * …       1+n   codec name length + ASCII name (0 when the codec has none)
 * …       rest  codec bytes
 * ```
 *
 * float64 keeps fractional instants from a `ManualClock` exact. The version byte lets a later
 * format be read side by side with this one; an unknown version is reported and treated as a miss.
 *
 * Format 2, written by a tier with conditional writes, inserts the entry's version after the flags
 * byte, at a fixed offset so that a Lua script reads it with one `GETRANGE key 0 10`:
 *
 * ```
 * 0       1     magic 0xCA
 * 1       1     format (2)
 * 2       1     flags: as format 1, plus 8 = tombstone
 * 3       8     entry version, float64 BE (µs on the Redis master's clock; set by the write script)
 * …             as format 1 from cachedAt on; a tombstone ends here (11 bytes)
 * ```
 *
 * Readers accept both formats, so a tier without conditional writes reads a versioned tier's
 * entries (and sees its tombstones as misses); a format-1 entry counts as version 1.
 */
export const ENVELOPE_MAGIC = 0xca;
export const ENVELOPE_VERSION = 1;
/** The format with an entry version (and tombstones), written by tiers with conditional writes. */
export const ENVELOPE_VERSIONED = 2;
/** Byte offset of the entry version in a format-2 envelope. */
export const VERSION_OFFSET = 3;

const FLAG_TTL = 1;
const FLAG_STALE = 2;
const FLAG_TAGS = 4;
const FLAG_TOMBSTONE = 8;

/** Metadata carried in the envelope header. */
export interface EnvelopeHeader {
  cachedAt: number;
  ttl: number | undefined;
  staleFor: number;
  tags: readonly string[];
}

/** A decoded envelope: header plus the codec's bytes (a view into the input, not a copy). */
export interface DecodedEnvelope extends EnvelopeHeader {
  codecName: string;
  payload: Uint8Array;
  /** The entry version of a format-2 envelope; 1 for format 1 (written without versions). */
  entryVersion: number;
}

/** A format-2 tombstone: the key was invalidated, at `entryVersion`. */
export interface DecodedTombstone {
  tombstone: true;
  entryVersion: number;
}

/** Why bytes under our prefix could not be read. */
export class EnvelopeError extends Error {
  override readonly name = "EnvelopeError";
}

function varintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    length++;
  }
  return length;
}

function writeVarint(buf: Buffer, offset: number, n: number): number {
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[offset++] = n;
  return offset;
}

/**
 * Builds the envelope bytes for one entry; `versioned` writes format 2 with a zero version, which
 * the write script replaces.
 */
export function encodeEnvelope(
  header: EnvelopeHeader,
  codecName: string,
  payload: Uint8Array,
  versioned = false,
): Buffer {
  let flags = 0;
  const head = versioned ? VERSION_OFFSET + 8 : 3;
  let size = head + 8;
  if (header.ttl !== undefined) {
    flags |= FLAG_TTL;
    size += 8;
  }
  if (header.staleFor !== 0) {
    flags |= FLAG_STALE;
    size += 8;
  }
  let tagBytes: Buffer[] | undefined;
  if (header.tags.length > 0) {
    flags |= FLAG_TAGS;
    tagBytes = header.tags.map((tag) => Buffer.from(tag, "utf8"));
    size += varintLength(tagBytes.length);
    for (const tag of tagBytes) size += varintLength(tag.length) + tag.length;
  }
  const nameBytes = Buffer.from(codecName, "latin1");
  if (nameBytes.length > 255) throw new EnvelopeError("codec name longer than 255 bytes");
  size += 1 + nameBytes.length + payload.length;

  const buf = Buffer.allocUnsafe(size);
  buf[0] = ENVELOPE_MAGIC;
  buf[1] = versioned ? ENVELOPE_VERSIONED : ENVELOPE_VERSION;
  buf[2] = flags;
  if (versioned) buf.fill(0, VERSION_OFFSET, head);
  let offset = buf.writeDoubleBE(header.cachedAt, head);
  if (header.ttl !== undefined) offset = buf.writeDoubleBE(header.ttl, offset);
  if (header.staleFor !== 0) offset = buf.writeDoubleBE(header.staleFor, offset);
  if (tagBytes) {
    offset = writeVarint(buf, offset, tagBytes.length);
    for (const tag of tagBytes) {
      offset = writeVarint(buf, offset, tag.length);
      offset += tag.copy(buf, offset);
    }
  }
  buf[offset++] = nameBytes.length;
  offset += nameBytes.copy(buf, offset);
  buf.set(payload, offset);
  return buf;
}

/** The tags of an untagged entry (most entries): one frozen array, not a new one per read. */
const NO_TAGS: readonly string[] = Object.freeze([]);

function truncated(): never {
  throw new EnvelopeError("truncated envelope");
}

function finiteNonNegative(value: number, field: string): number {
  if (!Number.isFinite(value) || value < 0) throw new EnvelopeError(`invalid ${field} ${value}`);
  return value;
}

/** True when `buf[start, start + length)` holds exactly the Latin-1 characters of `text`. */
function sameLatin1(buf: Buffer, start: number, length: number, text: string): boolean {
  if (text.length !== length) return false;
  for (let i = 0; i < length; i++) if (buf[start + i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * Reads an envelope. Throws {@link EnvelopeError} for bytes that are not one: foreign data under
 * the prefix, truncation, or a version this code does not know.
 *
 * Written without helper objects: it runs on every cache read. When the stored codec name equals
 * `expectedCodec`, that string is returned as is instead of decoding a new one.
 */
export function decodeEnvelope(buf: Buffer, expectedCodec?: string): DecodedEnvelope | DecodedTombstone {
  const length = buf.length;
  if (length < 3) truncated();
  if (buf[0] !== ENVELOPE_MAGIC) throw new EnvelopeError("not a cachet envelope (bad magic byte)");
  const format = buf[1];
  if (format !== ENVELOPE_VERSION && format !== ENVELOPE_VERSIONED)
    throw new EnvelopeError(`unsupported envelope version ${format}`);
  const flags = buf[2]!;
  let offset = 3;
  let entryVersion = 1;
  if (format === ENVELOPE_VERSIONED) {
    if (flags & ~(FLAG_TTL | FLAG_STALE | FLAG_TAGS | FLAG_TOMBSTONE))
      throw new EnvelopeError(`unknown envelope flags ${flags}`);
    if (offset + 8 > length) truncated();
    entryVersion = buf.readDoubleBE(offset);
    offset += 8;
    if (flags & FLAG_TOMBSTONE) return { tombstone: true, entryVersion };
  } else if (flags & ~(FLAG_TTL | FLAG_STALE | FLAG_TAGS)) {
    throw new EnvelopeError(`unknown envelope flags ${flags}`);
  }
  if (offset + 8 > length) truncated();
  const cachedAt = buf.readDoubleBE(offset);
  offset += 8;
  if (!Number.isFinite(cachedAt)) throw new EnvelopeError(`invalid cachedAt ${cachedAt}`);
  let ttl: number | undefined;
  if (flags & FLAG_TTL) {
    if (offset + 8 > length) truncated();
    ttl = finiteNonNegative(buf.readDoubleBE(offset), "ttl");
    offset += 8;
  }
  let staleFor = 0;
  if (flags & FLAG_STALE) {
    if (offset + 8 > length) truncated();
    staleFor = finiteNonNegative(buf.readDoubleBE(offset), "staleFor");
    offset += 8;
  }
  let tags: readonly string[] = NO_TAGS;
  if (flags & FLAG_TAGS) {
    const list: string[] = [];
    tags = list;
    const readVarint = (): number => {
      let value = 0;
      let scale = 1;
      for (let i = 0; i < 8; i++) {
        if (offset >= length) truncated();
        const b = buf[offset++]!;
        value += (b & 0x7f) * scale;
        if ((b & 0x80) === 0) return value;
        scale *= 0x80;
      }
      throw new EnvelopeError("varint too long");
    };
    const count = readVarint();
    for (let i = 0; i < count; i++) {
      const tagLength = readVarint();
      if (offset + tagLength > length) truncated();
      list.push(buf.toString("utf8", offset, offset + tagLength));
      offset += tagLength;
    }
  }
  if (offset >= length) truncated();
  const nameLength = buf[offset++]!;
  if (offset + nameLength > length) truncated();
  const codecName =
    expectedCodec !== undefined && sameLatin1(buf, offset, nameLength, expectedCodec)
      ? expectedCodec
      : buf.toString("latin1", offset, offset + nameLength);
  offset += nameLength;
  return { cachedAt, ttl, staleFor, tags, codecName, payload: buf.subarray(offset), entryVersion };
}
