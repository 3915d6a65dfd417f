import {
  canonicalJson,
  decodeBase64Url,
  encodeBase64Url,
  type Identity,
  publicKeySchema,
  sign,
  verify,
} from '@fieldline/core';
import { z } from 'zod';

/**
 * The domain-separation prefix of a checkpoint signature: the server signs
 * `"fieldline/v1 audit checkpoint\n"` followed by the RFC 8785 canonical JSON of
 * `{ seq, hash, at }`, so a checkpoint signature can never pass as any other
 * Fieldline signature (a consent receipt, a sealed frame).
 */
export const AUDIT_CHECKPOINT_DOMAIN = 'fieldline/v1 audit checkpoint\n';

/**
 * A signed statement of the audit chain's head at a moment: "the row `seq`
 * had hash `hash` at time `at`". Its hash commits to every row up to `seq`, so a
 * chain that no longer contains that row with that hash was truncated or rewritten.
 */
export interface AuditCheckpoint {
  /** Format version; only `1` exists. */
  readonly v: 1;
  /** The `seq` of the head row when the checkpoint was taken. */
  readonly seq: number;
  /** That row's `hash` (64 lowercase hex). */
  readonly hash: string;
  /** When the checkpoint was taken, RFC 3339 with milliseconds. */
  readonly at: string;
  /** The signer's Ed25519 public key, unpadded base64url. */
  readonly publicKey: string;
  /** Ed25519 signature over {@link AUDIT_CHECKPOINT_DOMAIN} + canonical `{ seq, hash, at }`. */
  readonly signature: string;
}

const checkpointSchema = z.strictObject({
  v: z.literal(1),
  seq: z.number().int().positive(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.iso.datetime(),
  publicKey: publicKeySchema,
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
});

function signedBytes(head: { seq: number; hash: string; at: string }): Uint8Array {
  return new TextEncoder().encode(
    AUDIT_CHECKPOINT_DOMAIN + canonicalJson({ seq: head.seq, hash: head.hash, at: head.at }),
  );
}

/**
 * Signs a checkpoint of the audit chain's head.
 *
 * @param head - the head row's `seq` and `hash`, and the checkpoint's time.
 * @param identity - the signer (the server's identity).
 * @returns the checkpoint, ready to store apart from the database.
 * @example
 * ```ts
 * const checkpoint = signAuditCheckpoint({ seq: 42, hash, at: new Date().toISOString() }, identity);
 * ```
 */
export function signAuditCheckpoint(
  head: { readonly seq: number; readonly hash: string; readonly at: string },
  identity: Identity,
): AuditCheckpoint {
  const signature = sign(signedBytes(head), identity);
  return {
    v: 1,
    seq: head.seq,
    hash: head.hash,
    at: head.at,
    publicKey: encodeBase64Url(identity.signingPublicKey),
    signature: encodeBase64Url(signature),
  };
}

/** What {@link parseAuditCheckpoint} found. */
export type ParsedAuditCheckpoint =
  | { readonly ok: true; readonly checkpoint: AuditCheckpoint }
  | { readonly ok: false; readonly reason: string };

/**
 * Checks a stored checkpoint (untrusted: read from a file or an outside store):
 * its shape, that its key is one of `trustedPublicKeys`, and its signature.
 * Never throws.
 *
 * @param input - the stored record, parsed JSON.
 * @param trustedPublicKeys - Ed25519 public keys (raw or base64url) whose checkpoints count:
 *   the server's current key, plus earlier ones after a key rotation.
 * @returns the checkpoint, or why it does not count.
 * @example
 * ```ts
 * const parsed = parseAuditCheckpoint(JSON.parse(line), [identity.signingPublicKey]);
 * ```
 */
export function parseAuditCheckpoint(
  input: unknown,
  trustedPublicKeys: readonly (Uint8Array | string)[],
): ParsedAuditCheckpoint {
  const parsed = checkpointSchema.safeParse(input);
  if (!parsed.success) return { ok: false, reason: 'not a well-formed audit checkpoint' };
  const checkpoint = parsed.data;
  const trusted = trustedPublicKeys.some((key) =>
    typeof key === 'string'
      ? key === checkpoint.publicKey
      : encodeBase64Url(key) === checkpoint.publicKey,
  );
  if (!trusted) return { ok: false, reason: 'signed by a key this server does not trust' };
  const signature = decodeBase64Url(checkpoint.signature);
  if (!signature.ok || !verify(signedBytes(checkpoint), signature.value, checkpoint.publicKey)) {
    return { ok: false, reason: 'its signature does not verify' };
  }
  return { ok: true, checkpoint };
}
