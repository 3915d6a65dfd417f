import { FieldlineError, isFieldlineError } from '@fieldline/core';

/** Codes of {@link AgentError}. */
export type AgentErrorCode =
  | 'invalid_options'
  | 'not_enrolled'
  | 'enrollment_failed'
  | 'no_config'
  | 'state_corrupt'
  | 'state_permissions'
  | 'server_unreachable'
  | 'key_rotation_failed';

/**
 * A failure of the agent that its caller must handle: bad options, an
 * operation that needs enrollment, enrollment refused, no config reachable
 * and none cached, or a state directory that cannot be trusted.
 */
export class AgentError extends FieldlineError<AgentErrorCode> {
  constructor(
    code: AgentErrorCode,
    message: string,
    options?: { details?: Record<string, unknown>; cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'AgentError';
  }
}

const CODES = new Set<string>([
  'invalid_options',
  'not_enrolled',
  'enrollment_failed',
  'no_config',
  'state_corrupt',
  'state_permissions',
  'server_unreachable',
  'key_rotation_failed',
]);

/**
 * Narrows an unknown value to an {@link AgentError}.
 *
 * @param value - anything caught.
 */
export function isAgentError(value: unknown): value is AgentError {
  return isFieldlineError(value) && CODES.has(value.code);
}
