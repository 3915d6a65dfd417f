import {
  type ConsentRecord,
  canonicalConsentRecordBytes,
  decodeBase64Url,
  encodeBase64Url,
  type Identity,
  parseConsentRecord,
  sign,
  verify,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';

/**
 * The domain-separation prefix of a receipt signature: the server signs
 * `"fieldline/v1 consent receipt\n" ‖ canonicalConsentRecordBytes(record)`, so a
 * receipt signature can never pass as any other Fieldline signature.
 */
export const CONSENT_RECEIPT_SIGNATURE_DOMAIN = 'fieldline/v1 consent receipt\n';

/** A consent record signed by the server: proof for the subject of what was recorded. */
export interface ConsentReceipt {
  /** The ledger row's consent record. */
  readonly record: ConsentRecord;
  /** Ed25519 signature by the server's identity, unpadded base64url. */
  readonly signature: string;
}

/** Which ledger row to issue a receipt for. */
export interface ConsentReceiptRequest {
  /** The caller's tenant; the row must belong to it. */
  readonly tenantId: string;
  /** The ledger row's id (its record's `recordId`). */
  readonly ledgerId: string;
}

/**
 * Issues a signed receipt for one consent ledger row.
 *
 * @param db - the database or a transaction.
 * @param request - the tenant and the ledger id.
 * @param serverIdentity - the server's identity; its Ed25519 key signs.
 * @returns the record and its signature.
 * @throws {@link HttpError} `not_found` when no row has that id in the tenant.
 * @throws {@link HttpError} `internal_error` when the stored record is malformed.
 * @example
 * ```ts
 * const receipt = await consentReceipt(db, { tenantId: 'acme', ledgerId }, serverIdentity);
 * verifyConsentReceipt(receipt, publicKeysOf(serverIdentity).signingPublicKey); // true
 * ```
 */
export async function consentReceipt(
  db: Kysely<FieldlineDatabase>,
  request: ConsentReceiptRequest,
  serverIdentity: Identity,
): Promise<ConsentReceipt> {
  const row = await db
    .selectFrom('consent_ledger')
    .select('record')
    .where('id', '=', request.ledgerId)
    .where('tenant_id', '=', request.tenantId)
    .executeTakeFirst();
  if (row === undefined) {
    throw new HttpError('not_found', `Consent ledger entry ${request.ledgerId} not found.`);
  }
  const parsed = parseConsentRecord(row.record);
  if (!parsed.ok) {
    throw new HttpError(
      'internal_error',
      `The stored consent record ${request.ledgerId} is malformed.`,
    );
  }
  return signConsentReceipt(parsed.value, serverIdentity);
}

/**
 * Signs a consent record as a receipt, for callers that already hold the record (a list of a
 * device's receipts, read in one query).
 *
 * @param record - a valid consent record (e.g. from `parseConsentRecord`).
 * @param serverIdentity - the server's identity; its Ed25519 key signs.
 * @returns the record and its signature.
 * @throws {@link @fieldline/core!ConsentRecordError | ConsentRecordError} when `record` is not a
 *   valid consent record.
 * @example
 * ```ts
 * const receipt = signConsentReceipt(entry.record, serverIdentity);
 * ```
 */
export function signConsentReceipt(
  record: ConsentRecord,
  serverIdentity: Identity,
): ConsentReceipt {
  const signature = sign(receiptBytes(record), serverIdentity);
  return { record, signature: encodeBase64Url(signature) };
}

/**
 * Checks a receipt's signature. Never throws: a malformed receipt, record,
 * signature or key is just `false`.
 *
 * @param receipt - a receipt, possibly untrusted (as sent back by a subject).
 * @param serverSigningPublicKey - the server's Ed25519 public key, raw 32 bytes or base64url.
 * @returns true only when the record is valid and the signature is the server's over it.
 * @example
 * ```ts
 * if (!verifyConsentReceipt(body, serverKeys.signingPublicKey)) return reply(400);
 * ```
 */
export function verifyConsentReceipt(
  receipt: { readonly record: unknown; readonly signature: unknown },
  serverSigningPublicKey: Uint8Array | string,
): boolean {
  if (typeof receipt !== 'object' || receipt === null) return false;
  if (typeof receipt.signature !== 'string') return false;
  const record = parseConsentRecord(receipt.record);
  if (!record.ok) return false;
  const signature = decodeBase64Url(receipt.signature);
  if (!signature.ok) return false;
  return verify(receiptBytes(record.value), signature.value, serverSigningPublicKey);
}

function receiptBytes(record: ConsentRecord): Uint8Array {
  const domain = new TextEncoder().encode(CONSENT_RECEIPT_SIGNATURE_DOMAIN);
  const body = canonicalConsentRecordBytes(record);
  const bytes = new Uint8Array(domain.byteLength + body.byteLength);
  bytes.set(domain, 0);
  bytes.set(body, domain.byteLength);
  return bytes;
}
