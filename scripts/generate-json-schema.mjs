// Writes docs/schema/protocol.json from @fieldline/core's zod schemas, so the
// JSON Schema clients use can never drift from the code (a test compares them).
import { mkdirSync, writeFileSync } from 'node:fs';
import { protocolJsonSchema } from '@fieldline/core';

const target = new URL('../docs/schema/protocol.json', import.meta.url);
mkdirSync(new URL('.', target), { recursive: true });
writeFileSync(target, `${JSON.stringify(protocolJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
