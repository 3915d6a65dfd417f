import {
  createEventRegistry,
  type EventEnvelope,
  type EventValidationError,
  type Result,
} from '@fieldline/core';
import { findUnstorableText } from '../../db/storable-text.js';
import { pendingEntries, rejectEntry } from '../ingestion-context.js';
import type { IngestionStep } from '../pipeline.js';

/** The part of core's `EventRegistry` ingestion uses. */
export interface EventValidator {
  /**
   * Validates one untrusted envelope; never throws.
   *
   * @param input - one element of a batch.
   */
  validate(input: unknown): Result<EventEnvelope<string, object>, EventValidationError>;
}

/** Options of {@link createValidateEventsStep}. */
export interface ValidateEventsStepOptions {
  /**
   * The accepted event types.
   * @default createEventRegistry() (the built-in types)
   */
  readonly registry?: EventValidator;
}

// PostgreSQL cannot store U+0000 or unpaired surrogates, and timestamptz has no year 0:
// such events pass the schemas but would fail the whole batch's insert, so they are refused
// here, one by one.
const hasUnstorableText = (value: unknown): boolean => findUnstorableText(value) !== undefined;

/**
 * Validates each pending event with the registry (envelope, registered type, scope, strict
 * data). Failures become per-event results `rejected` with the registry's code
 * (`invalid_event` or `unknown_event_type`) and message; the rest of the batch goes on.
 * Also refuses, as `invalid_event`, text PostgreSQL cannot store (U+0000, lone surrogates)
 * and year-0000 timestamps.
 *
 * @param options - the registry.
 * @returns the step, named `validate-events`.
 * @example
 * ```ts
 * createValidateEventsStep({ registry: createEventRegistry().register(myType) });
 * ```
 */
export function createValidateEventsStep(options: ValidateEventsStepOptions = {}): IngestionStep {
  const registry: EventValidator = options.registry ?? createEventRegistry();
  return {
    name: 'validate-events',
    async run(ctx, next) {
      for (const entry of pendingEntries(ctx)) {
        const result = registry.validate(entry.input);
        if (!result.ok) {
          rejectEntry(entry, result.error.code, result.error.message);
        } else if (hasUnstorableText(result.value.data)) {
          rejectEntry(entry, 'invalid_event', 'Event data holds U+0000 or an unpaired surrogate.');
        } else if (
          result.value.occurredAt.startsWith('0000') ||
          !Number.isFinite(Date.parse(result.value.occurredAt))
        ) {
          rejectEntry(entry, 'invalid_event', 'occurredAt is out of range.');
        } else {
          entry.event = result.value;
        }
      }
      await next();
    },
  };
}
