/**
 * The byte layout of one spool file, and its encryption at rest.
 *
 * ```text
 * offset  size  field
 *      0     4  magic "FLSP" (0x46 0x4c 0x53 0x50)
 *      4     1  format version, 1
 *      5     1  kind: 1 = events, 2 = report
 *      6     8  createdAtMs, unsigned 64-bit big-endian, ms since the Unix epoch
 *     14     4  itemCount, unsigned 32-bit big-endian
 *     18    12  nonce, fresh from the CSPRNG for every file (and every rewrite)
 *     30     n  ChaCha20-Poly1305 ciphertext of the payload (n = payload length)
 *   30+n    16  Poly1305 tag
 * ```
 *
 * The AEAD is ChaCha20-Poly1305 (RFC 8439) from node:crypto with the 32-byte spool key, and the
 * whole 30-byte header (bytes 0-29, nonce included) is its additional authenticated data, so a
 * changed kind, time or count fails to open exactly like a changed ciphertext. The payload length
 * is implied by the file size, which is why a truncated file fails too.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { err, ok, type Result } from '@fieldline/core';
import { SpoolError } from './spool-error.js';

/** Length in bytes of a spool key (ChaCha20-Poly1305). */
export const SPOOL_KEY_BYTES = 32;
/** Length in bytes of the header, nonce included: the AEAD's associated data. */
export const SPOOL_HEADER_BYTES = 30;
/** Length in bytes of the Poly1305 tag that ends every file. */
export const SPOOL_TAG_BYTES = 16;
/** The smallest valid file: a header and the tag of an empty payload. */
export const SPOOL_MIN_FILE_BYTES = SPOOL_HEADER_BYTES + SPOOL_TAG_BYTES;
/** The format version this build writes and reads. */
export const SPOOL_FORMAT_VERSION = 1;

const MAGIC = [0x46, 0x4c, 0x53, 0x50] as const; // "FLSP"
const NONCE_OFFSET = 18;
const NONCE_BYTES = 12;
const MAX_ITEM_COUNT = 0xffff_ffff;

/** What a spool entry holds: a batch of events, or one job report. */
export type SpoolEntryKind = 'events' | 'report';

const KIND_TO_BYTE: Readonly<Record<SpoolEntryKind, number>> = { events: 1, report: 2 };

/** The clear (but authenticated) metadata at the start of a spool file. */
export interface SpoolFileHeader {
  /** What the payload holds. */
  readonly kind: SpoolEntryKind;
  /** When the entry was first written, ms since the epoch. */
  readonly createdAtMs: number;
  /** How many items (events, reports) the payload holds; what trimming counts as dropped. */
  readonly itemCount: number;
}

/**
 * Why a file is not a readable spool file. Every one of them makes the file corrupt.
 *
 * - `truncated`: shorter than a header and a tag.
 * - `bad_magic`: does not start with "FLSP".
 * - `unsupported_version`: a format version this build cannot read.
 * - `bad_header`: an unknown kind or a time beyond 2^53 ms.
 * - `auth_failed`: the AEAD refused it: wrong key, or any byte changed or cut off.
 */
export type SpoolFileIssue =
  | 'truncated'
  | 'bad_magic'
  | 'unsupported_version'
  | 'bad_header'
  | 'auth_failed';

/**
 * Checks a spool key (programmer input, hence a throw).
 *
 * @param key - the candidate key.
 * @throws {@link SpoolError} `spool_key_invalid` when it is not a 32-byte Uint8Array.
 * @internal
 */
export function assertSpoolKey(key: unknown): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== SPOOL_KEY_BYTES) {
    throw new SpoolError(
      'spool_key_invalid',
      `A spool key must be a Uint8Array of exactly ${SPOOL_KEY_BYTES} bytes.`,
      {
        details: { length: key instanceof Uint8Array ? key.length : null },
      },
    );
  }
}

/**
 * Encrypts a payload into the bytes of one spool file.
 *
 * @param header - the entry's metadata, written in clear and authenticated.
 * @param payload - the plaintext (an event batch or a report, as the agent serialized it).
 * @param key - the 32-byte spool key.
 * @param nonce - 12 bytes; fresh random bytes unless a test supplies a known value. Never reuse
 *   one with the same key.
 * @returns the complete file contents.
 * @throws {@link SpoolError} `spool_key_invalid` for a key of the wrong size.
 * @example
 * ```ts
 * const file = encodeSpoolFile({ kind: 'events', createdAtMs: clock.now(), itemCount: 3 }, bytes, key);
 * ```
 * @internal
 */
export function encodeSpoolFile(
  header: SpoolFileHeader,
  payload: Uint8Array,
  key: Uint8Array,
  nonce: Uint8Array = randomBytes(NONCE_BYTES),
): Uint8Array {
  assertSpoolKey(key);
  const out = new Uint8Array(SPOOL_HEADER_BYTES + payload.length + SPOOL_TAG_BYTES);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = SPOOL_FORMAT_VERSION;
  out[5] = KIND_TO_BYTE[header.kind];
  view.setBigUint64(6, BigInt(header.createdAtMs));
  view.setUint32(14, header.itemCount);
  out.set(nonce.subarray(0, NONCE_BYTES), NONCE_OFFSET);
  const aad = out.subarray(0, SPOOL_HEADER_BYTES);
  const cipher = createCipheriv(
    'chacha20-poly1305',
    key,
    out.subarray(NONCE_OFFSET, SPOOL_HEADER_BYTES),
    {
      authTagLength: SPOOL_TAG_BYTES,
    },
  );
  cipher.setAAD(aad, { plaintextLength: payload.length });
  const body = cipher.update(payload);
  const final = cipher.final();
  out.set(body, SPOOL_HEADER_BYTES);
  out.set(final, SPOOL_HEADER_BYTES + body.length);
  out.set(cipher.getAuthTag(), SPOOL_HEADER_BYTES + payload.length);
  return out;
}

/**
 * Reads the clear header of a spool file without decrypting it, as listing does. The values
 * are only authenticated by {@link decodeSpoolFile}.
 *
 * @param bytes - at least the first {@link SPOOL_HEADER_BYTES} bytes of the file.
 * @param fileBytes - the file's full size, to refuse files too short to hold a tag.
 * @returns the header, or why the file is unreadable.
 * @internal
 */
export function parseSpoolFileHeader(
  bytes: Uint8Array,
  fileBytes: number = bytes.length,
): Result<SpoolFileHeader, SpoolFileIssue> {
  if (bytes.length < SPOOL_HEADER_BYTES || fileBytes < SPOOL_MIN_FILE_BYTES) {
    return err('truncated');
  }
  if (MAGIC.some((byte, index) => bytes[index] !== byte)) return err('bad_magic');
  if (bytes[4] !== SPOOL_FORMAT_VERSION) return err('unsupported_version');
  const kind = bytes[5] === 1 ? 'events' : bytes[5] === 2 ? 'report' : undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, SPOOL_HEADER_BYTES);
  const createdAt = view.getBigUint64(6);
  if (kind === undefined || createdAt > BigInt(Number.MAX_SAFE_INTEGER)) return err('bad_header');
  return ok({ kind, createdAtMs: Number(createdAt), itemCount: view.getUint32(14) });
}

/**
 * Authenticates and decrypts a whole spool file. Never throws: any damage is an issue.
 *
 * @param bytes - the complete file contents.
 * @param key - the 32-byte spool key.
 * @returns the authenticated header and the plaintext, or why the file is corrupt.
 * @example
 * ```ts
 * const opened = decodeSpoolFile(await readFile(path), key);
 * if (!opened.ok) await unlink(path);
 * ```
 * @internal
 */
export function decodeSpoolFile(
  bytes: Uint8Array,
  key: Uint8Array,
): Result<{ readonly header: SpoolFileHeader; readonly payload: Uint8Array }, SpoolFileIssue> {
  const header = parseSpoolFileHeader(bytes);
  if (!header.ok) return header;
  const tagStart = bytes.length - SPOOL_TAG_BYTES;
  try {
    const decipher = createDecipheriv(
      'chacha20-poly1305',
      key,
      bytes.subarray(NONCE_OFFSET, SPOOL_HEADER_BYTES),
      { authTagLength: SPOOL_TAG_BYTES },
    );
    decipher.setAAD(bytes.subarray(0, SPOOL_HEADER_BYTES), {
      plaintextLength: tagStart - SPOOL_HEADER_BYTES,
    });
    decipher.setAuthTag(bytes.subarray(tagStart));
    const body = decipher.update(bytes.subarray(SPOOL_HEADER_BYTES, tagStart));
    const final = decipher.final();
    const payload = final.length === 0 ? body : Buffer.concat([body, final]);
    return ok({
      header: header.value,
      payload: new Uint8Array(payload.buffer, payload.byteOffset, payload.length),
    });
  } catch {
    return err('auth_failed');
  }
}

/**
 * Checks the metadata of an entry about to be written (programmer input).
 *
 * @param header - the metadata to check.
 * @returns a sentence describing the first problem, or undefined when it is valid.
 * @internal
 */
export function describeInvalidHeader(header: SpoolFileHeader): string | undefined {
  if (header.kind !== 'events' && header.kind !== 'report') {
    return `kind must be 'events' or 'report', got ${String(header.kind)}.`;
  }
  if (!Number.isInteger(header.itemCount) || header.itemCount < 0) {
    return `itemCount must be an integer ≥ 0, got ${header.itemCount}.`;
  }
  if (header.itemCount > MAX_ITEM_COUNT) return `itemCount must fit in 32 bits.`;
  if (!Number.isSafeInteger(header.createdAtMs) || header.createdAtMs < 0) {
    return `the clock must give a time ≥ 0 in whole ms, got ${header.createdAtMs}.`;
  }
  return undefined;
}
