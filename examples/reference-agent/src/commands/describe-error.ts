import { isAgentError, isTlsPinError } from '@fieldline/agent-sdk';

/**
 * One line for people about a failure: the agent's own message (which says
 * what to do) with its code, or the error's message.
 *
 * @param error - anything thrown.
 * @returns the line.
 * @example
 * ```ts
 * io.err(`enroll failed: ${describeError(error)}`);
 * ```
 */
export function describeError(error: unknown): string {
  if (isTlsPinError(error)) {
    const presented = (error.details?.presented as readonly string[] | undefined) ?? [];
    return `${error.message} The server presented ${presented.join(', ') || 'no key'}. [${error.code}]`;
  }
  if (isAgentError(error)) {
    const cause = (error as { cause?: unknown }).cause;
    const detail =
      error.code === 'server_unreachable' && cause instanceof Error ? ` (${cause.message})` : '';
    return `${error.message}${detail} [${error.code}]`;
  }
  return error instanceof Error ? error.message : String(error);
}
