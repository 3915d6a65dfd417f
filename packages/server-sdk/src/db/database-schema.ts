import type { ColumnType, Generated, JSONColumnType } from 'kysely';

/** Kysely column type of a `timestamptz`: read as a Date, written as a Date or an ISO string. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** Kysely column type of a `timestamptz` column the database fills on insert; never updated. */
export type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
/**
 * Kysely column type of a `jsonb` column: read as `T`, written as a JSON string.
 *
 * @typeParam T - the shape of the stored JSON.
 */
export type Json<T extends object | null> = JSONColumnType<T, string, string>;
/** Kysely column type of a `jsonb` column holding any JSON value, written as a JSON string. */
export type AnyJson = ColumnType<unknown, string, string>;

/** Tenants: the isolation boundary of every row below. */
export interface TenantsTable {
  id: string;
  created_at: CreatedAt;
}

/** Enrolled devices and their public keys. */
export interface DevicesTable {
  id: string;
  tenant_id: string;
  hostname: string;
  os: string;
  arch: string;
  agent_version: string | null;
  signing_public_key: string;
  encryption_public_key: string;
  status: Generated<'active' | 'revoked'>;
  enrolled_at: CreatedAt;
  last_seen_at: Timestamp | null;
  drops: Json<Record<string, number>>;
  /** Set while the device holds an authenticated socket (migration 0002). */
  connected_at: Timestamp | null;
  /** The instance holding that socket. */
  connected_instance: string | null;
  /** When the device was revoked (migration 0004). */
  revoked_at: Timestamp | null;
  /** Set while the device is quarantined as a suspected clone. */
  quarantined_at: Timestamp | null;
  /** When a clone was last suspected. */
  clone_suspected_at: Timestamp | null;
  /** Live connections displaced by a newer one since `takeovers_since`. */
  takeovers: Generated<number>;
  /** Start of the takeover counting window. */
  takeovers_since: Timestamp | null;
  /** Set while the device must rotate its keys before anything else is accepted. */
  rotation_required_at: Timestamp | null;
  /** When the device last rotated its keys. */
  keys_rotated_at: Timestamp | null;
}

/** One-time install tokens, stored as SHA-256 hashes. */
export interface InstallTokensTable {
  id: string;
  tenant_id: string;
  token_hash: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  used_by_device_id: string | null;
  /** When an admin revoked the token (migration 0004); a revoked token cannot enroll. */
  revoked_at: Timestamp | null;
}

/** Device bearer tokens, stored as SHA-256 hashes. */
export interface DeviceTokensTable {
  id: string;
  device_id: string;
  token_hash: string;
  created_at: CreatedAt;
  revoked_at: Timestamp | null;
}

/** Real-time sessions (WebSocket), stored as SHA-256 hashes. */
export interface SessionsTable {
  id: string;
  device_id: string;
  token_hash: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

/** Consent policy versions per tenant. */
export interface PoliciesTable {
  tenant_id: string;
  version: number;
  scopes: Json<string[]>;
  text: string;
  url: string | null;
  created_at: CreatedAt;
  /** Per scope: purpose, what is collected, retention (core's `PolicyPurposes`); null: none given. */
  purposes: ColumnType<unknown, string | null | undefined, string | null>;
  /** A plain-language summary of the text. */
  summary: ColumnType<string | null, string | null | undefined, string | null>;
  /** SHA-256 of `text` in lowercase hex (migration 0014 filled it for older rows). */
  text_sha256: ColumnType<string | null, string | null | undefined, string | null>;
}

/** The append-only consent ledger: one row per consent event of a device. */
export interface ConsentLedgerTable {
  seq: Generated<number>;
  id: string;
  tenant_id: string;
  device_id: string;
  at: Timestamp;
  event: Json<Record<string, unknown>>;
  state: Json<Record<string, unknown>>;
  method: string;
  actor: string;
  record: Json<Record<string, unknown>>;
}

/** Stored events: one row per event id (the idempotency key). */
export interface EventsTable {
  id: string;
  tenant_id: string;
  device_id: string;
  type: string;
  scope: string;
  seq: number;
  occurred_at: Timestamp;
  received_at: Timestamp;
  data: Json<Record<string, unknown>>;
}

/** Stored job reports. */
export interface ReportsTable {
  id: string;
  tenant_id: string;
  device_id: string;
  job: string;
  status: string;
  started_at: Timestamp;
  finished_at: Timestamp;
  duration_ms: number;
  metrics: Json<Record<string, number>>;
  error: Json<Record<string, unknown>> | null;
  received_at: Timestamp;
}

/** Transactional outbox of messages to publish on the bus (one per accepted batch). */
export interface OutboxTable {
  seq: Generated<number>;
  tenant_id: string;
  topic: string;
  payload: Json<Record<string, unknown>>;
  created_at: CreatedAt;
  published_at: Timestamp | null;
}

/** Positions of the embedded event stream's durable named consumers (`src/stream/`). */
export interface StreamConsumersTable {
  /** The consumer's name. */
  name: string;
  /** Every outbox seq up to this one is handled (or permanently absent). */
  position: ColumnType<number, number | undefined, number>;
  updated_at: Timestamp | null;
}

/** The lease and position of each outbox relay (`createOutboxRelay`). */
export interface OutboxRelayLeasesTable {
  /** The relay's name (one lease per name). */
  name: string;
  /** The process holding the lease. */
  holder: string;
  /** When the lease lapses unless renewed. */
  lease_until: Timestamp;
  /** Every outbox seq up to this one is published (or permanently absent). */
  position: ColumnType<number, number | undefined, number>;
  updated_at: Timestamp | null;
}

/** People's accounts (migration 0015); `email` is unique whatever its case. */
export interface UsersTable {
  id: string;
  email: string;
  /** A self-describing scrypt hash (`scrypt$ln=…`), never the password. */
  password_hash: string;
  disabled: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** A person's roles: `owner` (no tenant) or `tenant_admin`/`auditor` of one tenant. */
export interface UserRolesTable {
  user_id: string;
  role: 'owner' | 'tenant_admin' | 'auditor';
  tenant_id: string | null;
  created_at: Timestamp;
}

/** People's sessions, stored as the SHA-256 of the cookie's token. */
export interface UserSessionsTable {
  id: string;
  user_id: string;
  token_hash: string;
  /** The tenant the session acts in; null for an owner. */
  tenant_id: string | null;
  created_at: Timestamp;
  /** The absolute end of the session. */
  expires_at: Timestamp;
  /** Last use, for the idle timeout (updated at most once a minute). */
  last_seen_at: Timestamp;
}

/** Failed logins within the rate limit's window. */
export interface LoginAttemptsTable {
  id: Generated<number>;
  /** SHA-256 (hex) of the lower-cased e-mail tried. */
  email_key: string;
  /** The client's address (its /64 for IPv6). */
  source: string;
  at: Timestamp;
}

/** One-time tokens that create the first owner (`POST /v1/auth/setup`), as SHA-256. */
export interface SetupTokensTable {
  id: string;
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  used_by_user_id: string | null;
}

/** Durable commands from server to device. */
export interface CommandsTable {
  id: string;
  tenant_id: string;
  device_id: string;
  type: string;
  body: AnyJson | null;
  status: Generated<'pending' | 'sent' | 'acked' | 'rejected' | 'failed' | 'expired'>;
  attempts: Generated<number>;
  max_attempts: number;
  created_at: CreatedAt;
  expires_at: Timestamp;
  acked_at: Timestamp | null;
  reason: string | null;
  /** When the command was last delivered (migration 0002). */
  last_sent_at: Timestamp | null;
}

/** Events that failed after acceptance: kept, never lost. */
export interface DeadLettersTable {
  seq: Generated<number>;
  tenant_id: string;
  device_id: string | null;
  kind: string;
  payload: AnyJson;
  reason: string;
  created_at: CreatedAt;
  /** Where a replay stands: null before the first one (migration 0005). */
  replay_status: 'replaying' | 'replayed' | 'failed' | null;
  /** When the current or last replay started. */
  replay_started_at: Timestamp | null;
  /** When the last replay finished. */
  replayed_at: Timestamp | null;
  /** Replays started so far. */
  replay_attempts: Generated<number>;
  /** The last replay's outcome (counts, or the error). */
  replay_result: AnyJson | null;
}

/** The append-only, hash-chained audit log. */
export interface AuditLogTable {
  seq: Generated<number>;
  at: Timestamp;
  tenant_id: string | null;
  actor: string;
  action: string;
  subject: string | null;
  details: Json<Record<string, unknown>>;
  prev_hash: string;
  hash: string;
}

/**
 * Activity per device, local day and app (docs/analytics.md); `app` is `''` for device-level
 * figures (idle time, network bytes). `day` is a `date`, read and written as `YYYY-MM-DD`.
 */
export interface AggregatesTable {
  tenant_id: string;
  device_id: string;
  day: string;
  app: string;
  active_ms: number;
  idle_ms: number;
  /** Launches (migration 0007). */
  launches: Generated<number>;
  /** Bytes received. */
  bytes_in: Generated<number>;
  /** Bytes sent. */
  bytes_out: Generated<number>;
  /** When the row was last recomputed. */
  updated_at: Generated<Date>;
}

/** {@link AggregatesTable} rows summed over a tenant's devices, per local day and app. */
export interface TenantAggregatesTable {
  tenant_id: string;
  day: string;
  app: string;
  /** Devices with a row for this day and app. */
  devices: Generated<number>;
  active_ms: Generated<number>;
  idle_ms: Generated<number>;
  launches: Generated<number>;
  bytes_in: Generated<number>;
  bytes_out: Generated<number>;
  updated_at: Generated<Date>;
}

/**
 * {@link AggregatesTable} rows of a device and day summed over its apps (migration 0012): what
 * reports grouped by device without app read.
 */
export interface DeviceDayTotalsTable {
  tenant_id: string;
  device_id: string;
  day: string;
  active_ms: Generated<number>;
  idle_ms: Generated<number>;
  launches: Generated<number>;
  bytes_in: Generated<number>;
  bytes_out: Generated<number>;
  updated_at: Generated<Date>;
}

/**
 * The stored batches the analytics rows count (migration 0013), by device and `received_at`:
 * the analytics consumer adds a batch's change once, and recomputes from these batches only.
 */
export interface AnalyticsAppliedTable {
  device_id: string;
  received_at: Timestamp;
  /** The activity events of the device with that `received_at` when the batch was added. */
  events: number;
  applied_at: Generated<Date>;
}

/** Per-tenant settings that shape its figures and retention (migration 0007). */
export interface TenantSettingsTable {
  tenant_id: string;
  /** IANA time zone of the tenant's local days. */
  time_zone: Generated<string>;
  /** How long an open focus or idle interval is assumed, at most (docs/analytics.md). */
  max_open_interval_ms: Generated<number>;
  /** Days raw events are kept. */
  retention_days: Generated<number>;
  updated_at: Generated<Date>;
}

/** Events refused for want of consent, per device, local day and scope. */
export interface ConsentRefusalsTable {
  tenant_id: string;
  device_id: string;
  day: string;
  scope: string;
  events: Generated<number>;
}

/** Config per tenant (device_id = '') or per device. */
export interface ConfigsTable {
  tenant_id: string;
  device_id: string;
  config: Json<Record<string, unknown>>;
  updated_at: Timestamp;
}

/** Message ids of sealed frames seen recently, shared by every instance. */
export interface SeenMessagesTable {
  message_id: string;
  expires_at: Timestamp;
}

/** One attempt of a webhook delivery, as kept in `webhook_deliveries.attempt_log`. */
export interface WebhookAttemptLogEntry {
  attempt: number;
  at: string;
  statusCode: number | null;
  error: string | null;
  latencyMs: number;
}

/** Webhook endpoints: where a tenant's notifications are POSTed, signed. */
export interface WebhookEndpointsTable {
  id: string;
  tenant_id: string;
  url: string;
  /** The notification types subscribed to. */
  event_types: Json<string[]>;
  description: string | null;
  /** The `whsec_…` secret, AES-256-GCM under the server's webhook key (`v1.<iv>.<tag>.<ct>`). */
  secret_ciphertext: string;
  /** The secret before the last rotation, sealed the same way; signs too until it expires. */
  previous_secret_ciphertext: string | null;
  previous_secret_expires_at: Timestamp | null;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  disabled_at: Timestamp | null;
  disabled_reason: string | null;
  /** Failed attempts in a row, over all of the endpoint's deliveries. */
  consecutive_failures: ColumnType<number, number | undefined, number>;
  failing_since: Timestamp | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** Webhook deliveries: one notification for one endpoint, with its attempts. */
export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  tenant_id: string;
  /** The outbox seq of the notification; null for a test delivery. */
  stream_seq: number | null;
  type: string;
  /** The JSON body sent (signed as serialized at each attempt). */
  body: Json<Record<string, unknown>>;
  status: ColumnType<
    'pending' | 'succeeded' | 'failed' | 'dead',
    'pending' | 'succeeded' | 'failed' | 'dead' | undefined,
    'pending' | 'succeeded' | 'failed' | 'dead'
  >;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp | null;
  last_status_code: number | null;
  last_error: string | null;
  last_latency_ms: number | null;
  attempt_log: ColumnType<WebhookAttemptLogEntry[], string | undefined, string>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** Every table Fieldline's server stores, for `Kysely<FieldlineDatabase>`. */
export interface FieldlineDatabase {
  tenants: TenantsTable;
  devices: DevicesTable;
  install_tokens: InstallTokensTable;
  device_tokens: DeviceTokensTable;
  sessions: SessionsTable;
  policies: PoliciesTable;
  consent_ledger: ConsentLedgerTable;
  events: EventsTable;
  reports: ReportsTable;
  outbox: OutboxTable;
  commands: CommandsTable;
  dead_letters: DeadLettersTable;
  audit_log: AuditLogTable;
  aggregates: AggregatesTable;
  tenant_aggregates: TenantAggregatesTable;
  device_day_totals: DeviceDayTotalsTable;
  analytics_applied: AnalyticsAppliedTable;
  tenant_settings: TenantSettingsTable;
  consent_refusals: ConsentRefusalsTable;
  configs: ConfigsTable;
  seen_messages: SeenMessagesTable;
  stream_consumers: StreamConsumersTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  outbox_relay_leases: OutboxRelayLeasesTable;
  users: UsersTable;
  user_roles: UserRolesTable;
  user_sessions: UserSessionsTable;
  login_attempts: LoginAttemptsTable;
  setup_tokens: SetupTokensTable;
  consent_link_nonces: ConsentLinkNoncesTable;
  consent_page_sessions: ConsentPageSessionsTable;
}

/** Nonces of exchanged consent links, kept until the link expires (single use). */
export interface ConsentLinkNoncesTable {
  device_id: string;
  nonce: string;
  expires_at: Timestamp;
}

/** Consent page sessions opened by consent links, each scoped to one device. */
export interface ConsentPageSessionsTable {
  /** SHA-256 (hex) of the session token; the token is only in the person's cookie. */
  token_hash: string;
  tenant_id: string;
  device_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
}
