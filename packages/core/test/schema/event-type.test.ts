import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtInEventTypes } from '../../src/schema/built-in-event-types.js';
import { findForbiddenCollection } from '../../src/schema/collection-boundaries.js';
import { defineEventType } from '../../src/schema/event-type.js';
import { EventDefinitionError } from '../../src/schema/schema-errors.js';

function definitionError(define: () => unknown): EventDefinitionError {
  try {
    define();
  } catch (error) {
    if (error instanceof EventDefinitionError) return error;
    throw error;
  }
  throw new Error('expected defineEventType to throw');
}

describe('defineEventType', () => {
  it('makes the top-level data schema strict', () => {
    const type = defineEventType({
      type: 'demo.thing',
      scope: 'demo',
      description: 'demo',
      data: z.object({ a: z.number() }),
    });
    expect(type.dataSchema.safeParse({ a: 1 }).success).toBe(true);
    expect(type.dataSchema.safeParse({ a: 1, b: 2 }).success).toBe(false);
  });

  it.each(['nodots', 'Upper.case', 'a..b', '.a.b', 'a.b.', `a.${'x'.repeat(200)}`])(
    'refuses the type name %s',
    (name) => {
      const error = definitionError(() =>
        defineEventType({ type: name, scope: 'demo', description: '', data: z.object({}) }),
      );
      expect(error.code).toBe('invalid_event_definition');
    },
  );

  it('refuses a bad scope name', () => {
    const error = definitionError(() =>
      defineEventType({
        type: 'demo.thing',
        scope: 'Has Space',
        description: '',
        data: z.object({}),
      }),
    );
    expect(error.code).toBe('invalid_event_definition');
  });

  it('refuses nested objects that accept unknown keys, naming their paths', () => {
    const error = definitionError(() =>
      defineEventType({
        type: 'demo.thing',
        scope: 'demo',
        description: '',
        data: z.object({ inner: z.object({ a: z.string() }), list: z.array(z.looseObject({})) }),
      }),
    );
    expect(error.code).toBe('invalid_event_definition');
    expect(error.details?.paths).toEqual(['inner', 'list[]']);
  });

  it('refuses a data schema that is not an object', () => {
    const error = definitionError(() =>
      defineEventType({
        type: 'demo.thing',
        scope: 'demo',
        description: '',
        data: z.string() as unknown as z.ZodObject<z.ZodRawShape>,
      }),
    );
    expect(error.code).toBe('invalid_event_definition');
  });
});

describe('collection boundaries', () => {
  it.each([
    ['keyStrokes', 'keystrokes'],
    ['typed_text', 'keystrokes'],
    ['screenshotPng', 'screen_content'],
    ['clipboardText', 'clipboard'],
    ['file_contents', 'file_content'],
    ['emailBody', 'message_body'],
    ['MESSAGE_TEXT', 'message_body'],
  ])('refuses a field named %s (%s)', (field, category) => {
    const error = definitionError(() =>
      defineEventType({
        type: 'demo.thing',
        scope: 'demo',
        description: '',
        data: z.object({ [field]: z.string() }),
      }),
    );
    expect(error.code).toBe('forbidden_collection');
    expect(error.details?.findings).toEqual([{ path: field, category }]);
  });

  it('finds forbidden fields at any depth and in the type name', () => {
    const findings = findForbiddenCollection(
      'input.keystroke',
      z.object({
        session: z
          .strictObject({
            items: z.array(z.strictObject({ clipboard: z.string() })),
            byApp: z.record(z.string(), z.strictObject({ chatMessage: z.string() })),
          })
          .optional(),
        either: z.union([z.strictObject({ fileData: z.string() }), z.number()]),
      }),
    );
    expect(findings).toEqual([
      { path: '$type', category: 'keystrokes' },
      { path: 'session.items[].clipboard', category: 'clipboard' },
      { path: 'session.byApp.*.chatMessage', category: 'message_body' },
      { path: 'either.fileData', category: 'file_content' },
    ]);
  });

  it('passes every built-in type', () => {
    for (const type of builtInEventTypes) {
      expect(findForbiddenCollection(type.type, type.dataSchema)).toEqual([]);
    }
  });

  it('does not flag innocent names that share letters', () => {
    expect(
      findForbiddenCollection(
        'activity.app.launched',
        z.object({ keyId: z.string(), screenCount: z.number(), profileId: z.string() }),
      ),
    ).toEqual([]);
  });
});
