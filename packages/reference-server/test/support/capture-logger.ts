// A real pino logger (the one the CLI uses) whose JSON lines are kept in memory.
import { createLogger } from '../../src/logging/create-logger.js';

export function captureLogger(level = 'debug') {
  const lines: string[] = [];
  const logger = createLogger({ level, destination: { write: (line) => void lines.push(line) } });
  return {
    logger,
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
