import type { Command } from '@fieldline/core';
import type { CommandLedger } from './command-ledger.js';
import type {
  CommandAnswer,
  CommandHandler,
  HandledCommand,
  ReceivedCommand,
} from './realtime-types.js';

/** Options of {@link createCommandDispatcher}. */
export interface CommandDispatcherOptions {
  readonly ledger: CommandLedger;
  /** Integrator handlers by command type (read at dispatch time, so late registration works). */
  readonly handlers: ReadonlyMap<string, CommandHandler>;
  /**
   * Built-in handlers by type. They are idempotent (apply a snapshot, refetch config), so
   * unlike integrator handlers they are run again when a crash interrupted them.
   */
  readonly builtIns: ReadonlyMap<string, CommandHandler>;
}

/** Runs each command id at most once and answers redeliveries from the ledger. */
export interface CommandDispatcher {
  /**
   * Handles one delivery: a known id is answered from memory; a new one runs its handler
   * (concurrent deliveries of one id share a single run).
   *
   * @param command - the opened, schema-valid command.
   * @param via - how it arrived.
   * @returns the answer to send, and whether it was a duplicate.
   */
  dispatch(command: Command, via: 'socket' | 'http'): Promise<HandledCommand>;
  /**
   * The remembered answer for an id, without opening its frame (socket redeliveries).
   *
   * @param id - the command id.
   * @returns the answer and the command's type, or undefined when the id must be opened and run.
   */
  remembered(id: string): { readonly answer: CommandAnswer; readonly type: string } | undefined;
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // The protocol caps a reason at 1 024 characters.
  return message.length > 1_024 ? `${message.slice(0, 1_021)}...` : message || 'handler failed';
}

/**
 * Creates the command dispatcher shared by the socket and HTTP paths, so a command that
 * arrives both ways (a live frame and a heartbeat response) runs once.
 *
 * @param options - ledger, integrator handlers, built-ins.
 * @returns the dispatcher.
 * @example
 * ```ts
 * const dispatcher = createCommandDispatcher({ ledger, handlers, builtIns });
 * const handled = await dispatcher.dispatch(command, 'http');
 * ```
 */
export function createCommandDispatcher(options: CommandDispatcherOptions): CommandDispatcher {
  const { ledger, handlers, builtIns } = options;
  const inFlight = new Map<string, Promise<HandledCommand>>();

  async function run(command: Command, via: 'socket' | 'http'): Promise<HandledCommand> {
    const known = ledger.get(command.id);
    const builtIn = builtIns.get(command.type);
    if (known !== undefined && known.status !== 'running') {
      return { id: command.id, type: command.type, via, answer: known, duplicate: true };
    }
    let answer: CommandAnswer;
    if (known?.status === 'running' && builtIn === undefined) {
      // The process stopped while the handler ran; it may have had effects, so it is not run
      // again (at most once), and the server learns it did not complete.
      answer = { status: 'rejected', reason: 'interrupted' };
    } else {
      const handler = builtIn ?? handlers.get(command.type);
      if (handler === undefined) {
        answer = { status: 'rejected', reason: 'unknown_command' };
      } else {
        // Written before an integrator handler runs, so a crash during it is remembered. Not
        // for built-ins: they are idempotent, and a withdrawal must not wait for an fsync.
        if (builtIn === undefined) {
          await ledger.remember(command.id, command.type, { status: 'running' });
        }
        const received: ReceivedCommand = {
          id: command.id,
          type: command.type,
          body: command.body,
          issuedAt: command.issuedAt,
          expiresAt: command.expiresAt,
          via,
        };
        try {
          await handler(received);
          answer = { status: 'acked' };
        } catch (error) {
          answer = { status: 'rejected', reason: reasonOf(error) };
        }
      }
    }
    await ledger.remember(command.id, command.type, answer);
    return { id: command.id, type: command.type, via, answer, duplicate: false };
  }

  return {
    dispatch(command, via) {
      const running = inFlight.get(command.id);
      if (running !== undefined) {
        return running.then((handled) => ({ ...handled, via, duplicate: true }));
      }
      const started = run(command, via).finally(() => inFlight.delete(command.id));
      inFlight.set(command.id, started);
      return started;
    },
    remembered(id) {
      if (inFlight.has(id)) return undefined;
      const known = ledger.get(id);
      if (known === undefined || known.status === 'running') return undefined;
      return { answer: known, type: ledger.typeOf(id) ?? 'unknown' };
    },
  };
}
