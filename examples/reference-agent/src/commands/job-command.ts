import { spawn } from 'node:child_process';
import type { JobRecord } from '@fieldline/agent-sdk';
import { type OpenCliAgentOptions, openCliAgent } from '../agent/open-cli-agent.js';
import { writeOneShotStatus } from '../agent/write-one-shot-status.js';
import type { CommandIo, CommandOutcome } from '../cli/command-io.js';
import { isResticJsonBackup, parseResticSummary } from '../restic/parse-restic-summary.js';
import { describeError } from './describe-error.js';

/** Where the child's output is passed through to (the terminal, in the CLI). */
export interface OutputSink {
  write(chunk: Uint8Array): unknown;
}

/** Options of {@link jobCommand}. */
export interface JobCommandOptions extends OpenCliAgentOptions {
  /** The job's name in reports and in `status`. */
  readonly name: string;
  /** The program to run (looked up on PATH; no shell). */
  readonly command: string;
  /** Its arguments. */
  readonly args: readonly string[];
  /** Receives the child's stdout as it comes. */
  readonly stdout: OutputSink;
  /** Receives the child's stderr as it comes. */
  readonly stderr: OutputSink;
  /** Aborting sends SIGTERM to the child (the CLI aborts on SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
}

/** What {@link jobCommand} did. */
export interface JobOutcome extends CommandOutcome {
  /** The job record, when the agent could be opened. */
  readonly record?: JobRecord;
}

/** The exit of a child, as a shell would report it. */
interface ChildExit {
  readonly exitCode: number;
  readonly signal: NodeJS.Signals | null;
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  readonly stdoutTail: string;
  readonly spawnError?: Error;
}

// Enough of the output's end to hold restic's summary line.
const TAIL_BYTES = 64 * 1024;

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
};

/**
 * Why a job failed, with what the run measured: `agent.runJob` reports the
 * numeric `metrics` of the error a job throws, so a failed job's report has
 * them too. The message repeats them, for readers of `error.message` alone.
 */
class JobFailure extends Error {
  readonly code: string;
  readonly metrics: Readonly<Record<string, number>>;
  constructor(code: string, message: string, metrics: Readonly<Record<string, number>>) {
    const listed = Object.entries(metrics)
      .map(([name, value]) => `${name}=${value}`)
      .join(' ');
    super(`${message} (${listed})`);
    this.code = code;
    this.metrics = metrics;
  }
}

function runChild(options: JobCommandOptions): Promise<ChildExit> {
  return new Promise((resolve) => {
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let tail = Buffer.alloc(0);
    let settled = false;
    const child = spawn(options.command, [...options.args], {
      stdio: ['inherit', 'pipe', 'pipe'],
    });
    const onAbort = () => child.kill('SIGTERM');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (exit: ChildExit) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      resolve(exit);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      options.stdout.write(chunk);
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > TAIL_BYTES) tail = tail.subarray(tail.length - TAIL_BYTES);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderrBytes += chunk.length;
      options.stderr.write(chunk);
    });
    child.on('error', (error) => {
      // The program could not be started (not found, not executable): 127, as a shell says.
      finish({
        exitCode: 127,
        signal: null,
        stdoutBytes,
        stderrBytes,
        stdoutTail: '',
        spawnError: error,
      });
    });
    // 'close' (not 'exit'): every byte of output has been counted by then.
    child.on('close', (code, signal) => {
      finish({
        exitCode: code ?? 128 + (signal === null ? 0 : (SIGNAL_NUMBERS[signal] ?? 0)),
        signal,
        stdoutBytes,
        stderrBytes,
        stdoutTail: tail.toString('utf8'),
      });
    });
  });
}

/**
 * `fieldline-agent job NAME -- COMMAND...`: runs a command as a job and
 * reports it with `agent.runJob`: metrics `exitCode`, `stdoutBytes`,
 * `stderrBytes`, `durationMs` (plus restic's summary fields for `restic
 * backup --json`). The output is passed through as it comes. A non-zero
 * exit, a signal, or a program that cannot be started is a failed job (error
 * code `exit_<n>`, `signal_<NAME>`, `spawn_failed`). The report is sent, or
 * spooled when the server cannot be reached.
 *
 * @param options - state directory, job name, command, output sinks.
 * @param io - where to print the agent's own lines (stderr, not to mix with the command's stdout).
 * @returns the command's exit code (127 when it could not be started; 1 when the state dir is unusable).
 * @example
 * ```ts
 * await jobCommand({ stateDir, name: 'backup', command: 'restic', args: ['backup', '--json', '/home'],
 *   stdout: process.stdout, stderr: process.stderr }, io);
 * ```
 */
export async function jobCommand(options: JobCommandOptions, io: CommandIo): Promise<JobOutcome> {
  let agent: Awaited<ReturnType<typeof openCliAgent>>;
  try {
    agent = await openCliAgent(options);
  } catch (error) {
    io.err(`cannot open the state directory: ${describeError(error)}`);
    return { exitCode: 1 };
  }
  if (agent.status().deviceId === null) {
    io.err('This device is not enrolled; the job runs, but its report is only kept locally.');
  }
  let exit: ChildExit | undefined;
  const record = await agent.runJob(options.name, async () => {
    const startedAt = performance.now();
    exit = await runChild(options);
    const metrics: Record<string, number> = {
      exitCode: exit.exitCode,
      stdoutBytes: exit.stdoutBytes,
      stderrBytes: exit.stderrBytes,
      durationMs: Math.round(performance.now() - startedAt),
    };
    if (isResticJsonBackup(options.command, options.args)) {
      Object.assign(metrics, parseResticSummary(exit.stdoutTail) ?? {});
    }
    if (exit.spawnError !== undefined) {
      throw new JobFailure(
        'spawn_failed',
        `${options.command}: ${exit.spawnError.message}`,
        metrics,
      );
    }
    if (exit.signal !== null) {
      throw new JobFailure(
        `signal_${exit.signal}`,
        `${options.command} was killed by ${exit.signal}`,
        metrics,
      );
    }
    if (exit.exitCode !== 0) {
      throw new JobFailure(
        `exit_${exit.exitCode}`,
        `${options.command} exited with ${exit.exitCode}`,
        metrics,
      );
    }
    return metrics;
  });
  await writeOneShotStatus(agent);
  const exitCode = exit?.exitCode ?? 1;
  io.err(
    `job ${options.name} ${record.status} (exit ${exitCode}, ${record.durationMs} ms); report ${
      record.delivered ? 'delivered' : 'spooled (`fieldline-agent flush` sends it)'
    }`,
  );
  return { exitCode, record };
}
