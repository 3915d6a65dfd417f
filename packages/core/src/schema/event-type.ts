import { z } from 'zod';
import { findForbiddenCollection } from './collection-boundaries.js';
import {
  EVENT_TYPE_PATTERN,
  type EventEnvelope,
  envelopeShape,
  MAX_EVENT_TYPE_LENGTH,
  SCOPE_PATTERN,
} from './envelope.js';
import { EventDefinitionError } from './schema-errors.js';
import { walkSchema } from './schema-walk.js';

/**
 * What an integrator writes to define an event type.
 *
 * @typeParam Type - the literal type name.
 * @typeParam Shape - the zod shape of `data`.
 */
export interface EventTypeDefinition<Type extends string, Shape extends z.ZodRawShape> {
  /** `namespace.name`, lowercase. */
  readonly type: Type;
  /** The consent scope an event of this type needs. */
  readonly scope: string;
  /** One sentence for docs and dashboards. */
  readonly description: string;
  /**
   * Schema of `data`. Made strict at the top level; nested objects must be
   * strict already (`z.strictObject`), so unknown keys are rejected everywhere.
   */
  readonly data: z.ZodObject<Shape>;
}

/**
 * A defined event type: a name, the consent scope it needs, and the strict
 * schema of its data. Create with {@link defineEventType}.
 *
 * @typeParam Type - the literal type name.
 * @typeParam Data - the shape of `data`.
 */
export interface EventType<Type extends string = string, Data extends object = object> {
  /** `namespace.name`. */
  readonly type: Type;
  /** The consent scope an event of this type needs. */
  readonly scope: string;
  /** One sentence for docs and dashboards. */
  readonly description: string;
  /** Strict schema of `data`. */
  readonly dataSchema: z.ZodType<Data>;
  /**
   * The whole envelope for this type (type and scope as literals); compiled
   * once so validation is a single zod pass.
   * @internal
   */
  readonly envelopeSchema: z.ZodType<EventEnvelope<Type, Data>>;
}

/** The `data` type of an {@link EventType}. */
export type EventDataOf<T> = T extends EventType<string, infer Data> ? Data : never;

/**
 * Defines an event type after checking it: the name is `namespace.name`, the
 * scope is a valid scope name, `data` is an object schema whose nested
 * objects are strict, and nothing in it looks like keystrokes, screen
 * content, clipboard, file content or message bodies.
 *
 * @param definition - name, scope, description and data schema.
 * @returns the event type, ready to register.
 * @throws {@link EventDefinitionError} `invalid_event_definition` or `forbidden_collection`.
 * @example
 * ```ts
 * const backupFinished = defineEventType({
 *   type: 'backup.finished',
 *   scope: 'operational',
 *   description: 'A backup run ended.',
 *   data: z.object({ bytes: z.number().int().nonnegative() }),
 * });
 * ```
 */
export function defineEventType<Type extends string, Shape extends z.ZodRawShape>(
  definition: EventTypeDefinition<Type, Shape>,
): EventType<Type, z.output<z.ZodObject<Shape, z.core.$strict>>> {
  const { type, scope, description, data } = definition;
  if (
    typeof type !== 'string' ||
    type.length > MAX_EVENT_TYPE_LENGTH ||
    !EVENT_TYPE_PATTERN.test(type)
  ) {
    throw new EventDefinitionError(
      'invalid_event_definition',
      `Event type name ${JSON.stringify(type)} is invalid: use lowercase "namespace.name" (at most ${MAX_EVENT_TYPE_LENGTH} characters).`,
      { type },
    );
  }
  if (typeof scope !== 'string' || !SCOPE_PATTERN.test(scope)) {
    throw new EventDefinitionError(
      'invalid_event_definition',
      `Event type ${type} has an invalid scope ${JSON.stringify(scope)}: use a lowercase name such as "activity".`,
      { type, scope },
    );
  }
  if (!(data instanceof z.ZodObject)) {
    throw new EventDefinitionError(
      'invalid_event_definition',
      `Event type ${type} must describe data with a zod object schema (z.object or z.strictObject).`,
      { type },
    );
  }
  const dataSchema = data.strict();
  const loose: string[] = [];
  walkSchema(dataSchema, ({ path, strict }) => {
    if (!strict) loose.push(path);
  });
  if (loose.length > 0) {
    throw new EventDefinitionError(
      'invalid_event_definition',
      `Event type ${type} has nested objects that accept unknown keys at ${loose.join(', ')}: define them with z.strictObject.`,
      { type, paths: loose },
    );
  }
  const forbidden = findForbiddenCollection(type, dataSchema);
  if (forbidden.length > 0) {
    throw new EventDefinitionError(
      'forbidden_collection',
      `Event type ${type} looks like it collects data Fieldline never collects (${forbidden
        .map((f) => `${f.path}: ${f.category}`)
        .join(
          ', ',
        )}). Keystrokes, screen content, clipboard, file content and message bodies are out of bounds.`,
      { type, findings: forbidden },
    );
  }
  const envelopeSchema = z.strictObject({
    ...envelopeShape,
    type: z.literal(type),
    scope: z.literal(scope, { message: `event type ${type} needs scope "${scope}"` }),
    data: dataSchema,
  });
  return Object.freeze({
    type,
    scope,
    description,
    dataSchema,
    envelopeSchema,
  }) as unknown as EventType<Type, z.output<z.ZodObject<Shape, z.core.$strict>>>;
}
