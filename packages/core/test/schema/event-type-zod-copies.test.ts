import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
// Two other installs of zod, as an application may have them beside Fieldline's: the oldest
// zod 4 the peer range allows, and zod 3 (whose `zod/v4` subpath is an early zod 4).
import { z as zodCopy } from 'zod-copy';
import { z as zodMini } from 'zod-copy/mini';
import { z as zod3 } from 'zod3';
import { z as zod3v4 } from 'zod3/v4';
import { createEventRegistry } from '../../src/schema/event-registry.js';
import { defineEventType } from '../../src/schema/event-type.js';
import { EventDefinitionError, isEventDefinitionError } from '../../src/schema/schema-errors.js';

// Each copy has its own TypeScript declarations, which is why zod is a peer dependency;
// at run time a zod 4 schema from any copy must still work. Test-only casts to core's types.
function asCoreSchema<Shape extends z.ZodRawShape>(schema: unknown): z.ZodObject<Shape> {
  return schema as z.ZodObject<Shape>;
}

function definitionError(define: () => unknown): EventDefinitionError {
  try {
    define();
  } catch (error) {
    if (error instanceof EventDefinitionError) return error;
    throw error;
  }
  throw new Error('expected defineEventType to throw');
}

const envelope = {
  id: '019a8c2e-4f1b-7c3d-9e2f-0a1b2c3d4e5f',
  type: 'backup.finished',
  occurredAt: '2026-11-21T10:00:00.000Z',
  seq: 1,
  scope: 'operational',
};

// Typed as the 4.1 copy: the two copies' declarations differ, their run-time shapes do not.
const foreignZods: ReadonlyArray<readonly [string, typeof zodCopy]> = [
  ['another zod 4 copy (4.1.0)', zodCopy],
  ["zod 3.25's zod/v4", zod3v4 as unknown as typeof zodCopy],
];

describe.each(foreignZods)('defineEventType with a schema from %s', (_name, foreign) => {
  const backupFinished = () =>
    defineEventType({
      type: 'backup.finished',
      scope: 'operational',
      description: 'A backup run ended.',
      data: asCoreSchema<{ bytes: z.ZodNumber; target: z.ZodOptional<z.ZodString> }>(
        foreign.object({
          bytes: foreign.number().int().nonnegative(),
          target: foreign.string().optional(),
        }),
      ),
    });

  it('defines the type, with its data made strict', () => {
    const type = backupFinished();
    expect(type.dataSchema.safeParse({ bytes: 10 }).success).toBe(true);
    expect(type.dataSchema.safeParse({ bytes: 10, extra: 1 }).success).toBe(false);
    expect(type.dataSchema.safeParse({ bytes: -1 }).success).toBe(false);
  });

  it('validates whole envelopes through a registry, naming failing paths', () => {
    const registry = createEventRegistry({ builtIns: false }).register(backupFinished());
    expect(registry.validate({ ...envelope, data: { bytes: 10, target: 'nas' } })).toMatchObject({
      ok: true,
      value: { data: { bytes: 10, target: 'nas' } },
    });
    const bad = registry.validate({ ...envelope, data: { bytes: 'ten', other: true } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error.issues.map((issue) => issue.path).sort()).toEqual(['data', 'data.bytes']);
    }
    const data = registry.validateData('backup.finished', { bytes: 1.5 });
    expect(data.ok).toBe(false);
  });

  it('still refuses loose nested objects and forbidden fields', () => {
    const loose = definitionError(() =>
      defineEventType({
        type: 'demo.thing',
        scope: 'demo',
        description: '',
        data: asCoreSchema(foreign.object({ inner: foreign.object({ a: foreign.string() }) })),
      }),
    );
    expect(loose.code).toBe('invalid_event_definition');
    expect(loose.details).toEqual({ type: 'demo.thing', paths: ['inner'] });
    const forbidden = definitionError(() =>
      defineEventType({
        type: 'demo.thing',
        scope: 'demo',
        description: '',
        data: asCoreSchema(foreign.object({ clipboardText: foreign.string() })),
      }),
    );
    expect(forbidden.code).toBe('forbidden_collection');
  });
});

describe('defineEventType with a zod 3 schema', () => {
  it('throws unsupported_zod_version, naming zod 4 as the fix', () => {
    const error = definitionError(() =>
      defineEventType({
        type: 'backup.finished',
        scope: 'operational',
        description: 'A backup run ended.',
        data: asCoreSchema(zod3.object({ bytes: zod3.number() })),
      }),
    );
    expect(isEventDefinitionError(error)).toBe(true);
    expect(error.code).toBe('unsupported_zod_version');
    expect(error.details).toEqual({ type: 'backup.finished', zodMajor: 3 });
    expect(error.message).toContain('zod 3 schema');
    expect(error.message).toContain('zod@^4.1.0');
  });
});

describe('defineEventType with what is not a zod 4 classic object schema', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a plain object', {}],
    ['a zod 4 string schema', zodCopy.string()],
  ])('refuses %s with invalid_event_definition', (_name, data) => {
    const error = definitionError(() =>
      defineEventType({
        type: 'demo.thing',
        scope: 'demo',
        description: '',
        data: asCoreSchema(data),
      }),
    );
    expect(error.code).toBe('invalid_event_definition');
    expect(error.message).toContain('zod object schema');
  });

  it('refuses a zod/mini object, pointing at the classic API', () => {
    const error = definitionError(() =>
      defineEventType({
        type: 'demo.thing',
        scope: 'demo',
        description: '',
        data: asCoreSchema(zodMini.object({ a: zodMini.string() })),
      }),
    );
    expect(error.code).toBe('invalid_event_definition');
    expect(error.message).toContain('not zod/mini');
  });
});
