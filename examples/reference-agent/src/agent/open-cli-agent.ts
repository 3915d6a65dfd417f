import { readFile } from 'node:fs/promises';
import {
  type Agent,
  type AgentOptions,
  type Collector,
  createAgent,
  statePaths,
} from '@fieldline/agent-sdk';
import type { RetryPolicyOptions } from '@fieldline/core';

/** The version this agent reports at enrollment and in heartbeats. */
export const AGENT_VERSION = '0.1.0';

/**
 * Retry policy of the one-shot commands (`track`, `job`, `flush`, `run
 * --once`): a person is waiting, so an unreachable server is noticed within
 * a few seconds and what could not go is spooled for the next run. `run`
 * (long-running) keeps the SDK's patient default.
 */
export const ONE_SHOT_RETRY: RetryPolicyOptions = {
  baseDelayMs: 250,
  maxDelayMs: 1_000,
  maxAttempts: 3,
  maxElapsedMs: 3_000,
};

/** Options of {@link openCliAgent}. */
export interface OpenCliAgentOptions {
  /** The agent's state directory. */
  readonly stateDir: string;
  /**
   * Collectors to hand the agent (only `run` starts any).
   * @default []
   */
  readonly collectors?: readonly Collector[];
  /**
   * Delivery retry policy.
   * @default ONE_SHOT_RETRY
   */
  readonly retry?: RetryPolicyOptions;
  /** Anything else the SDK accepts (tests pass a transport or a clock). */
  readonly agentOptions?: Omit<AgentOptions, 'stateDir' | 'collectors' | 'retry'>;
}

/**
 * Loads the agent on a state directory the way every `fieldline-agent`
 * command does: the built-in event registry, this agent's version, and the
 * one-shot retry policy unless told otherwise.
 *
 * @param options - state directory, collectors, retry policy.
 * @returns the loaded agent (enrolled or not; not started).
 * @throws {@link AgentError} for a state directory that cannot be trusted.
 * @example
 * ```ts
 * const agent = await openCliAgent({ stateDir: '/var/lib/fieldline' });
 * ```
 */
export function openCliAgent(options: OpenCliAgentOptions): Promise<Agent> {
  return createAgent({
    agentVersion: AGENT_VERSION,
    ...options.agentOptions,
    stateDir: options.stateDir,
    collectors: options.collectors ?? [],
    retry: options.retry ?? ONE_SHOT_RETRY,
  });
}

/** Who this device is to its server, as recorded at enrollment. */
export interface EnrollmentSummary {
  readonly deviceId: string;
  readonly tenant: string;
  readonly serverUrl: string;
  readonly enrolledAt: string;
}

/**
 * Reads the non-secret part of the enrollment file (never the device token).
 *
 * @param stateDir - the agent's state directory.
 * @returns the summary, or `undefined` when the device is not enrolled.
 * @example
 * ```ts
 * const who = await readEnrollmentSummary(stateDir); // { deviceId, tenant, serverUrl, enrolledAt }
 * ```
 */
export async function readEnrollmentSummary(
  stateDir: string,
): Promise<EnrollmentSummary | undefined> {
  let text: string;
  try {
    text = await readFile(statePaths(stateDir).enrollment, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(text) as Record<string, unknown>;
  const field = (name: string) => (typeof parsed[name] === 'string' ? parsed[name] : '');
  return {
    deviceId: field('deviceId'),
    tenant: field('tenant'),
    serverUrl: field('serverUrl'),
    enrolledAt: field('enrolledAt'),
  };
}
