import type { Selectable } from 'kysely';
import type { AuditLogTable } from '../db/database-schema.js';

/** What a caller records in the audit log; the log adds the time and the hash chain. */
export interface NewAuditEntry {
  /** The tenant the action concerns; null for server-wide actions. */
  readonly tenantId: string | null;
  /** Who acted: `admin`, `device:<id>`, `system`… */
  readonly actor: string;
  /** What happened, `area.verb`: `consent.granted`, `event.rejected`… */
  readonly action: string;
  /** What it happened to (`device:<id>`, `policy:v2`), or null. */
  readonly subject: string | null;
  /**
   * Structured context: plain JSON data only (no Dates, no `NaN`, no `\u0000` in
   * strings, which PostgreSQL's jsonb refuses). Never secrets.
   */
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * One row of the audit log, in the shape of protocol v1's `auditEntrySchema`
 * (`GET /v1/admin/audit`).
 */
export interface AuditEntry {
  /** Position in the log; increasing, possibly with gaps (a rolled-back append burns a number). */
  readonly seq: number;
  /** When the row was appended, RFC 3339 with milliseconds. */
  readonly at: string;
  /** The tenant, or null for server-wide actions. */
  readonly tenant: string | null;
  /** Who acted. */
  readonly actor: string;
  /** What happened. */
  readonly action: string;
  /** What it happened to, or null. */
  readonly subject: string | null;
  /** Structured context. */
  readonly details: Record<string, unknown>;
  /** The previous row's `hash`, or 64 zeros (`AUDIT_GENESIS_HASH`) for the first row. */
  readonly prevHash: string;
  /** SHA-256 (hex) of this row's canonical bytes; see `computeAuditHash`. */
  readonly hash: string;
}

/** A stored `audit_log` row as Kysely reads it. @internal */
export type AuditRow = Selectable<AuditLogTable>;

/**
 * Maps a stored row to its protocol shape.
 *
 * @param row - a row of `audit_log`.
 * @returns the entry.
 * @internal
 */
export function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: row.at.toISOString(),
    tenant: row.tenant_id,
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
