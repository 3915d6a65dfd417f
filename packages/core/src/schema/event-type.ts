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

// Zod 3 schemas carry `_def.typeName`; zod 4 ones carry `_zod` (def, version).
interface ZodInternals {
  readonly _zod?: { readonly def?: { readonly type?: unknown }; readonly version?: unknown };
  readonly _def?: { readonly typeName?: unknown };
}

/**
 * Checks that `data` is a zod 4 object schema with zod's classic methods, by its
 * shape rather than with `instanceof`: an application's own copy of zod (a second
 * install, another zod 4 version) makes different classes that work the same.
 */
function checkDataSchema<Shape extends z.ZodRawShape>(
  type: string,
  data: unknown,
): z.ZodObject<Shape> {
  const internals = (typeof data === 'object' && data !== null ? data : {}) as ZodInternals;
  const version = internals._zod?.version as { readonly major?: unknown } | undefined;
  if (internals._zod === undefined && typeof internals._def?.typeName === 'string') {
    throw new EventDefinitionError(
      'unsupported_zod_version',
      `Event type ${type} describes data with a zod 3 schema; Fieldline needs zod 4: install zod@^4.1.0 and import { z } from 'zod' (on zod 3.25, import { z } from 'zod/v4').`,
      { type, zodMajor: 3 },
    );
  }
  if (internals._zod !== undefined && version?.major !== 4) {
    throw new EventDefinitionError(
      'unsupported_zod_version',
      `Event type ${type} describes data with a schema from zod ${String(version?.major)}; Fieldline needs zod 4 (zod@^4.1.0).`,
      { type, zodMajor: version?.major ?? null },
    );
  }
  if (internals._zod?.def?.type !== 'object') {
    throw new EventDefinitionError(
      'invalid_event_definition',
      `Event type ${type} must describe data with a zod object schema (z.object or z.strictObject).`,
      { type },
    );
  }
  const methods = data as { readonly strict?: unknown; readonly safeParse?: unknown };
  if (typeof methods.strict !== 'function' || typeof methods.safeParse !== 'function') {
    throw new EventDefinitionError(
      'invalid_event_definition',
      `Event type ${type} must describe data with zod's classic API (import { z } from 'zod'), not zod/mini.`,
      { type },
    );
  }
  return data as z.ZodObject<Shape>;
}

/**
 * Defines an event type after checking it: the name is `namespace.name`, the
 * scope is a valid scope name, `data` is an object schema whose nested
 * objects are strict, and nothing in it looks like keystrokes, screen
 * content, clipboard, file content or message bodies.
 *
 * @param definition - name, scope, description and data schema.
 * @returns the event type, ready to register.
 * @throws {@link EventDefinitionError} `invalid_event_definition`, `forbidden_collection`, or
 * `unsupported_zod_version` for a schema made with zod 3 (zod 4 schemas from any copy of zod work).
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
  const dataSchema = checkDataSchema(type, data).strict();
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
