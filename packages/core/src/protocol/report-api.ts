import { z } from 'zod';
import { auditEntrySchema } from './admin-api.js';
import { idSchema, tenantSchema } from './common.js';

/** Longest `from`–`to` range, in days, of a report by day (`period=day`, compliance, audit). */
export const MAX_REPORT_RANGE_DAYS = 400;
/** Longest range, in days, of an activity report by month or year: ten years. */
export const MAX_ROLLUP_RANGE_DAYS = 3660;

/** A calendar day `YYYY-MM-DD` (the tenant's local day). */
export const reportDaySchema = z.iso.date();

/** How a report is written: JSON (default) or CSV (RFC 4180, header row first). */
export const reportFormatSchema = z.enum(['json', 'csv']).default('json');

/** What an activity report can be grouped by. */
export const activityGroupKeySchema = z.enum(['day', 'app', 'device']);

/** What an activity report can be grouped by: `day`, `app` or `device`. */
export type ActivityGroupKey = z.infer<typeof activityGroupKeySchema>;

/** The calendar unit of an activity report's `day` field. */
export const activityPeriodSchema = z.enum(['day', 'month', 'year']);

/** `day` (`YYYY-MM-DD`), `month` (`YYYY-MM`) or `year` (`YYYY`). */
export type ActivityPeriod = z.infer<typeof activityPeriodSchema>;

const GROUP_ORDER: readonly ActivityGroupKey[] = ['day', 'device', 'app'];

/**
 * `groupBy`: a comma list of `day`, `app`, `device`, each at most once; the result is in the
 * canonical order `day`, `device`, `app` (the order rows are sorted by).
 */
export const activityGroupBySchema = z
  .string()
  .default('day,app')
  .transform((text, ctx) => {
    const keys = text.split(',').map((key) => key.trim());
    const result: ActivityGroupKey[] = [];
    for (const key of keys) {
      const parsed = activityGroupKeySchema.safeParse(key);
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: `"${key}" is not one of day, app, device` });
        return z.NEVER;
      }
      if (result.includes(parsed.data)) {
        ctx.addIssue({ code: 'custom', message: `"${key}" is listed twice` });
        return z.NEVER;
      }
      result.push(parsed.data);
    }
    return GROUP_ORDER.filter((key) => result.includes(key));
  });

function rangeDays(from: string, to: string): number {
  return (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
}

function checkRange(
  value: { readonly from: string; readonly to: string },
  maxDays: number,
  ctx: z.RefinementCtx,
): void {
  const days = rangeDays(value.from, value.to);
  if (days < 1) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must not be before from' });
  } else if (days > maxDays) {
    ctx.addIssue({
      code: 'custom',
      path: ['to'],
      message: `the range spans ${days} days; at most ${maxDays} are allowed`,
    });
  }
}

const rangeFields = {
  /** Required with the operator token; a tenant token may only name its own tenant. */
  tenant: tenantSchema.optional(),
  from: reportDaySchema,
  to: reportDaySchema,
  format: reportFormatSchema,
};

/** `GET /v1/reports/activity` query. Unknown parameters are refused. */
export const activityReportQuerySchema = z
  .strictObject({
    ...rangeFields,
    device: idSchema.optional(),
    groupBy: activityGroupBySchema,
    period: activityPeriodSchema.default('day'),
  })
  .superRefine((value, ctx) =>
    checkRange(value, value.period === 'day' ? MAX_REPORT_RANGE_DAYS : MAX_ROLLUP_RANGE_DAYS, ctx),
  );

/** The parsed `GET /v1/reports/activity` query. */
export type ActivityReportQuery = z.output<typeof activityReportQuerySchema>;

const figureSchema = z.number().int().nonnegative();

/**
 * One row of an activity report. A field the report is not grouped by is `null` (its figures
 * are summed over it); `day` holds `YYYY-MM-DD`, `YYYY-MM` or `YYYY` by the report's `period`.
 */
export const activityReportRowSchema = z.strictObject({
  day: z.string().nullable(),
  deviceId: idSchema.nullable(),
  app: z.string().nullable(),
  activeMs: figureSchema,
  idleMs: figureSchema,
  launches: figureSchema,
  bytesIn: figureSchema,
  bytesOut: figureSchema,
});

/** One row of an activity report. */
export type ActivityReportRow = z.infer<typeof activityReportRowSchema>;

/** `GET /v1/reports/activity` JSON response (the CSV has the row fields as columns). */
export const activityReportSchema = z.strictObject({
  from: reportDaySchema,
  to: reportDaySchema,
  rows: z.array(activityReportRowSchema),
});

/** `GET /v1/reports/activity` JSON response. */
export type ActivityReport = z.infer<typeof activityReportSchema>;

/** `GET /v1/reports/compliance` query. */
export const complianceReportQuerySchema = z
  .strictObject({ ...rangeFields, device: idSchema.optional() })
  .superRefine((value, ctx) => checkRange(value, MAX_REPORT_RANGE_DAYS, ctx));

/** The parsed `GET /v1/reports/compliance` query. */
export type ComplianceReportQuery = z.output<typeof complianceReportQuerySchema>;

const countsSchema = z.record(z.string(), figureSchema);

/** One device of a compliance report. */
export const complianceReportRowSchema = z.strictObject({
  deviceId: idSchema,
  /** The consent status now (`unknown`, `pending`, `granted`, `withdrawn`, `expired`). */
  consentStatus: z.enum(['unknown', 'pending', 'granted', 'withdrawn', 'expired']),
  /** The policy version of that state; null when `unknown`. */
  policyVersion: z.number().int().positive().nullable(),
  /** The tenant's latest policy version; null when it has none. */
  latestPolicyVersion: z.number().int().positive().nullable(),
  /** True when the status is `pending` or the device's version is older than the latest. */
  reconsentPending: z.boolean(),
  /** Grants recorded in the consent ledger over the range. */
  grants: figureSchema,
  /** Withdrawals recorded over the range. */
  withdrawals: figureSchema,
  /** Events the server refused for want of consent over the range. */
  refusedEvents: figureSchema,
  /** The same, per consent scope. */
  refusedByScope: countsSchema,
  /** Events the agent dropped, per reason, since enrollment (the agent reports totals). */
  drops: countsSchema,
});

/** One device of a compliance report. */
export type ComplianceReportRow = z.infer<typeof complianceReportRowSchema>;

/** `GET /v1/reports/compliance` JSON response. */
export const complianceReportSchema = z.strictObject({
  from: reportDaySchema,
  to: reportDaySchema,
  rows: z.array(complianceReportRowSchema),
});

/** `GET /v1/reports/compliance` JSON response. */
export type ComplianceReport = z.infer<typeof complianceReportSchema>;

/** `GET /v1/reports/audit` query. */
export const auditReportQuerySchema = z
  .strictObject({
    ...rangeFields,
    action: z.string().min(1).max(200).optional(),
    actor: z.string().min(1).max(200).optional(),
  })
  .superRefine((value, ctx) => checkRange(value, MAX_REPORT_RANGE_DAYS, ctx));

/** The parsed `GET /v1/reports/audit` query. */
export type AuditReportQuery = z.output<typeof auditReportQuerySchema>;

/**
 * The hash-chain check over the report's entries: every row from `fromSeq` to `toSeq` (of
 * every tenant, since the chain spans them) links to the one before it and hashes right.
 */
export const auditRangeVerificationSchema = z.strictObject({
  ok: z.boolean(),
  /** Rows checked. */
  checked: z.number().int().nonnegative(),
  /** The first row that does not hold, or null. */
  firstBrokenSeq: z.number().int().positive().nullable(),
  /** The first and last seq of the entries; null when there are none. */
  fromSeq: z.number().int().positive().nullable(),
  toSeq: z.number().int().positive().nullable(),
});

/** The hash-chain check over an audit report's entries. */
export type AuditRangeVerification = z.infer<typeof auditRangeVerificationSchema>;

/** One entry of an audit report. */
export const auditReportEntrySchema = auditEntrySchema.pick({
  seq: true,
  at: true,
  actor: true,
  action: true,
  subject: true,
  details: true,
});

/** One entry of an audit report. */
export type AuditReportEntry = z.infer<typeof auditReportEntrySchema>;

/** `GET /v1/reports/audit` JSON response. */
export const auditReportSchema = z.strictObject({
  from: reportDaySchema,
  to: reportDaySchema,
  verification: auditRangeVerificationSchema,
  entries: z.array(auditReportEntrySchema),
});

/** `GET /v1/reports/audit` JSON response. */
export type AuditReport = z.infer<typeof auditReportSchema>;
