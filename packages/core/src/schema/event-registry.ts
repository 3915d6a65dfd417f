import { err, ok, type Result } from '../result.js';
import { builtInEventTypes } from './built-in-event-types.js';
import { EVENT_TYPE_PATTERN, type EventEnvelope, eventEnvelopeSchema } from './envelope.js';
import type { EventDataOf, EventType } from './event-type.js';
import {
  EventDefinitionError,
  EventValidationError,
  type ValidationIssue,
} from './schema-errors.js';
import { toValidationIssues } from './zod-issues.js';

/** Maps each registered event type name to the shape of its `data`. */
export type EventTypeMap = { readonly [type: string]: object };

/** The event types built into Fieldline, by name. */
export type BuiltInEventMap = {
  readonly [T in (typeof builtInEventTypes)[number] as T['type']]: EventDataOf<T>;
};

/** The envelope of any event type registered in `M`, discriminated on `type`. */
export type RegisteredEnvelope<M extends EventTypeMap> = {
  [K in keyof M & string]: EventEnvelope<K, M[K]>;
}[keyof M & string];

/**
 * The set of event types a deployment accepts. Agents validate before
 * queueing; servers validate again at ingestion.
 *
 * @typeParam M - the registered types, so `validateData` and SDK `track()`
 * calls are typed per event type.
 */
export interface EventRegistry<M extends EventTypeMap = BuiltInEventMap> {
  /**
   * Adds an event type.
   *
   * @param eventType - made with `defineEventType`.
   * @returns this registry, typed with the new event type.
   * @throws {@link EventDefinitionError} `duplicate_event_type` when the name is taken.
   */
  register<T extends string, D extends object>(
    eventType: EventType<T, D>,
  ): EventRegistry<M & { readonly [K in T]: D }>;
  /** The event type registered under `type`, if any. */
  get(type: string): EventType | undefined;
  /** True when `type` is registered. */
  has(type: string): type is keyof M & string;
  /** Every registered event type, in registration order. */
  list(): readonly EventType[];
  /**
   * Validates a whole envelope: its fields, that its type is registered, that
   * its scope is the one the type needs, and its data against the type's strict
   * schema. Never throws.
   *
   * @param input - untrusted input, e.g. one element of a received batch.
   * @returns the parsed envelope, or an error listing every failing path.
   */
  validate(input: unknown): Result<RegisteredEnvelope<M>, EventValidationError>;
  /**
   * Validates only the `data` of one event type (agents call this in
   * `track()` before stamping the envelope). Never throws.
   *
   * @param type - a registered event type name.
   * @param data - untrusted data.
   */
  validateData<K extends keyof M & string>(
    type: K,
    data: unknown,
  ): Result<M[K], EventValidationError>;
}

/** Options of {@link createEventRegistry}. */
export interface EventRegistryOptions {
  /**
   * Start with Fieldline's built-in event types.
   * @default true
   */
  readonly builtIns?: boolean;
}

const NOT_AN_OBJECT: readonly ValidationIssue[] = [
  { path: '', message: 'an event must be a JSON object', code: 'invalid_type' },
];

function summarize(issues: readonly ValidationIssue[]): string {
  const shown = issues
    .slice(0, 3)
    .map((issue) => `${issue.path || '(root)'}: ${issue.message}`)
    .join('; ');
  return issues.length > 3 ? `${shown}; and ${issues.length - 3} more` : shown;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Creates an event registry.
 *
 * @param options - whether to include the built-in types.
 * @returns a registry; add your own types with `register`.
 * @example
 * ```ts
 * const registry = createEventRegistry();
 * const result = registry.validate(JSON.parse(body));
 * if (!result.ok) console.log(result.error.issues);
 * ```
 */
export function createEventRegistry(options?: { readonly builtIns?: true }): EventRegistry;
export function createEventRegistry(options: {
  readonly builtIns: false;
}): EventRegistry<Record<never, never>>;
export function createEventRegistry(options?: EventRegistryOptions): EventRegistry<EventTypeMap>;
export function createEventRegistry(options: EventRegistryOptions = {}): unknown {
  const byType = new Map<string, EventType>();

  // Typed loosely inside; the overloads above give callers the precise map.
  const registry = {
    register(eventType: EventType) {
      if (byType.has(eventType.type)) {
        throw new EventDefinitionError(
          'duplicate_event_type',
          `Event type ${eventType.type} is already registered; pick another name or register it once.`,
          { type: eventType.type },
        );
      }
      byType.set(eventType.type, eventType as EventType);
      return registry;
    },
    get: (type: string) => byType.get(type),
    has: (type: string) => byType.has(type),
    list: () => [...byType.values()],
    validate(input: unknown): Result<EventEnvelope<string, object>, EventValidationError> {
      if (!isPlainObject(input)) {
        return err(
          new EventValidationError('invalid_event', 'Event is not a JSON object.', NOT_AN_OBJECT),
        );
      }
      const type = input.type;
      const eventType = typeof type === 'string' ? byType.get(type) : undefined;
      if (eventType !== undefined) {
        const parsed = eventType.envelopeSchema.safeParse(input);
        if (parsed.success) return ok(parsed.data);
        const issues = toValidationIssues(parsed.error);
        return err(
          new EventValidationError(
            'invalid_event',
            `Event ${eventType.type} is invalid: ${summarize(issues)}`,
            issues,
          ),
        );
      }
      const parsed = eventEnvelopeSchema.safeParse(input);
      const issues = parsed.success ? [] : toValidationIssues(parsed.error);
      if (typeof type === 'string' && EVENT_TYPE_PATTERN.test(type)) {
        issues.unshift({
          path: 'type',
          message: `unknown event type "${type}"; register it on both agent and server`,
          code: 'unknown_event_type',
        });
        return err(
          new EventValidationError(
            'unknown_event_type',
            `Event type ${type} is not registered.`,
            issues,
          ),
        );
      }
      return err(
        new EventValidationError('invalid_event', `Event is invalid: ${summarize(issues)}`, issues),
      );
    },
    validateData(type: string, data: unknown): Result<object, EventValidationError> {
      const eventType = byType.get(type);
      if (eventType === undefined) {
        const issues = [
          { path: 'type', message: `unknown event type "${type}"`, code: 'unknown_event_type' },
        ];
        return err(
          new EventValidationError(
            'unknown_event_type',
            `Event type ${type} is not registered.`,
            issues,
          ),
        );
      }
      const parsed = eventType.dataSchema.safeParse(data);
      if (parsed.success) return ok(parsed.data);
      const issues = toValidationIssues(parsed.error).map((issue) => ({
        ...issue,
        path: issue.path === '' ? 'data' : `data.${issue.path}`,
      }));
      return err(
        new EventValidationError(
          'invalid_event',
          `Event ${type} has invalid data: ${summarize(issues)}`,
          issues,
        ),
      );
    },
  };

  if (options.builtIns !== false) {
    for (const eventType of builtInEventTypes) registry.register(eventType as EventType);
  }
  return registry;
}
