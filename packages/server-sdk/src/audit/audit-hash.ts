import { createHash } from 'node:crypto';
import { canonicalJsonBytes } from '@fieldline/core';

/** `prevHash` of the first row of the audit log: 64 zeros. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

// Keeps an audit hash from ever equalling a hash of the same JSON made for another purpose.
const AUDIT_HASH_DOMAIN = 'fieldline/v1 audit';

/** The fields an audit row's hash covers. */
export interface AuditHashInput {
  /** The previous row's hash, or {@link AUDIT_GENESIS_HASH}. */
  readonly prevHash: string;
  /** The row's time, as `Date.prototype.toISOString()` writes it. */
  readonly at: string;
  /** The tenant, or null. */
  readonly tenant: string | null;
  /** Who acted. */
  readonly actor: string;
  /** What happened. */
  readonly action: string;
  /** What it happened to, or null. */
  readonly subject: string | null;
  /** Structured context (plain JSON data). */
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * Computes an audit row's hash: SHA-256, lowercase hex, over the UTF-8 RFC 8785
 * canonical JSON of the array `["fieldline/v1 audit", prevHash, at, tenant,
 * actor, action, subject, details]`. A JSON array keeps every field's boundary
 * unambiguous and `details` canonical whatever its key order, so anyone can
 * re-verify an exported log. `seq` is left out on purpose: identity numbers
 * skip after a rollback, and the `prevHash` links carry the order.
 *
 * @param input - the row's fields.
 * @returns 64 lowercase hex characters.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} (from core) when
 *   `details` is not plain JSON data.
 * @example
 * ```ts
 * const [entry] = await listAudit(db, { limit: 1 });
 * const intact = entry !== undefined && computeAuditHash(entry) === entry.hash;
 * ```
 */
export function computeAuditHash(input: AuditHashInput): string {
  const bytes = canonicalJsonBytes([
    AUDIT_HASH_DOMAIN,
    input.prevHash,
    input.at,
    input.tenant,
    input.actor,
    input.action,
    input.subject,
    input.details,
  ]);
  return createHash('sha256').update(bytes).digest('hex');
}
