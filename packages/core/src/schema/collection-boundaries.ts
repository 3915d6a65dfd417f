import type { z } from 'zod';
import { walkSchema } from './schema-walk.js';

/** The kinds of data Fieldline never collects, whatever an integrator registers. */
export type ForbiddenCollection =
  | 'keystrokes'
  | 'screen_content'
  | 'clipboard'
  | 'file_content'
  | 'message_body';

/** A field (or type name) that looks like forbidden data. */
export interface ForbiddenFieldFinding {
  /** Dotted path of the field inside `data` (`[]` marks array items, `*` record values); `$type` for the type name. */
  readonly path: string;
  /** Which forbidden category the name matched. */
  readonly category: ForbiddenCollection;
}

// Matched against names lowercased with every non-alphanumeric removed, so
// `key_strokes`, `keyStrokes` and `KEYSTROKES` all hit.
const FORBIDDEN_NAME_FRAGMENTS: ReadonlyArray<readonly [string, ForbiddenCollection]> = [
  ['keystroke', 'keystrokes'],
  ['keylog', 'keystrokes'],
  ['keypress', 'keystrokes'],
  ['keycode', 'keystrokes'],
  ['keyevent', 'keystrokes'],
  ['typedtext', 'keystrokes'],
  ['typedchar', 'keystrokes'],
  ['screenshot', 'screen_content'],
  ['screencapture', 'screen_content'],
  ['screencontent', 'screen_content'],
  ['screenrecord', 'screen_content'],
  ['screenimage', 'screen_content'],
  ['screentext', 'screen_content'],
  ['framebuffer', 'screen_content'],
  ['clipboard', 'clipboard'],
  ['pasteboard', 'clipboard'],
  ['filecontent', 'file_content'],
  ['filebody', 'file_content'],
  ['filedata', 'file_content'],
  ['filebytes', 'file_content'],
  ['messagebody', 'message_body'],
  ['messagetext', 'message_body'],
  ['messagecontent', 'message_body'],
  ['emailbody', 'message_body'],
  ['mailbody', 'message_body'],
  ['chatmessage', 'message_body'],
  ['chattext', 'message_body'],
  ['smsbody', 'message_body'],
  ['smstext', 'message_body'],
];

function categoryOfName(name: string): ForbiddenCollection | undefined {
  const normalized = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  for (const [fragment, category] of FORBIDDEN_NAME_FRAGMENTS) {
    if (normalized.includes(fragment)) return category;
  }
  return undefined;
}

/**
 * Looks for signs that an event type would collect data Fieldline never
 * collects: keystrokes, screen content, clipboard, file content or message
 * bodies. It checks the type name and every field name of the data schema,
 * at any depth (objects, arrays, records, unions, optional wrappers), against
 * a list of name fragments after lowercasing and removing separators.
 *
 * This is a safety net against accidental definitions, not a proof: a field
 * can always be misnamed on purpose. Review of event types stays the real
 * boundary.
 *
 * @param type - the event type name.
 * @param data - the zod schema of the type's `data`.
 * @returns every finding; empty when nothing looks forbidden.
 * @example
 * ```ts
 * findForbiddenCollection('input.typed', z.object({ keystrokes: z.string() }));
 * // [{ path: 'keystrokes', category: 'keystrokes' }]
 * ```
 */
export function findForbiddenCollection(
  type: string,
  data: z.ZodType,
): readonly ForbiddenFieldFinding[] {
  const findings: ForbiddenFieldFinding[] = [];
  for (const segment of type.split('.')) {
    const category = categoryOfName(segment);
    if (category) findings.push({ path: '$type', category });
  }
  walkSchema(data, ({ path, keys }) => {
    for (const key of keys) {
      const category = categoryOfName(key);
      if (category) findings.push({ path: path === '' ? key : `${path}.${key}`, category });
    }
  });
  return findings;
}
