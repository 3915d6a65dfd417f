import { type Command, commandsResponseSchema, ROUTES } from '@fieldline/core';
import type { EnrollmentFile } from '../state/state-files.js';
import type { Transport } from '../transport/http-transport.js';
import type { CommandAnswer } from './realtime-types.js';

/** What a command poll came to. */
export type PollCommandsResult =
  | { readonly status: 'ok'; readonly commands: readonly Command[] }
  | { readonly status: 'unauthorized' }
  | { readonly status: 'failed'; readonly reason: string };

/**
 * `GET /v1/commands`: one delivery of every open command of the device (§4.7). Never throws.
 *
 * @param transport - the agent's HTTP transport.
 * @param enrollment - server URL and device token.
 * @returns the commands, or why there are none.
 */
export async function pollCommands(
  transport: Transport,
  enrollment: EnrollmentFile,
): Promise<PollCommandsResult> {
  try {
    const response = await transport.request({
      method: 'GET',
      url: `${enrollment.serverUrl}${ROUTES.commands}`,
      headers: { authorization: `Bearer ${enrollment.deviceToken}` },
    });
    if (response.status === 401) return { status: 'unauthorized' };
    if (response.status !== 200) {
      return { status: 'failed', reason: `GET /v1/commands answered ${response.status}` };
    }
    const parsed = commandsResponseSchema.safeParse(response.body);
    if (!parsed.success) return { status: 'failed', reason: 'unexpected /v1/commands body' };
    return { status: 'ok', commands: parsed.data.commands };
  } catch (error) {
    return { status: 'failed', reason: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * `POST /v1/commands/:id/ack`. One try: a lost ack costs only a redelivery, which the
 * command ledger answers without running the handler again. Never throws.
 *
 * @param transport - the agent's HTTP transport.
 * @param enrollment - server URL and device token.
 * @param id - the command id.
 * @param answer - acked or rejected (with a reason).
 * @returns whether the server took it (any 2xx, or 404 for a command it no longer has).
 */
export async function postCommandAck(
  transport: Transport,
  enrollment: EnrollmentFile,
  id: string,
  answer: CommandAnswer,
): Promise<{ readonly ok: boolean; readonly reason?: string }> {
  try {
    const response = await transport.request({
      method: 'POST',
      url: `${enrollment.serverUrl}${ROUTES.commandAck.replace(':id', encodeURIComponent(id))}`,
      headers: { authorization: `Bearer ${enrollment.deviceToken}` },
      body: JSON.stringify(answer),
    });
    if (response.status >= 200 && response.status < 300) return { ok: true };
    return { ok: false, reason: `ack of ${id} answered ${response.status}` };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
