#!/usr/bin/env node
import type { CommandIo } from './cli/command-io.js';
// The `fieldline-agent` command. The only module that prints, handles
// signals and exits the process; the commands themselves are in ./commands.
import { type AgentCliCommand, parseAgentArgs, USAGE } from './cli/parse-agent-args.js';
import { consentCommand } from './commands/consent-command.js';
import { enrollCommand } from './commands/enroll-command.js';
import { flushCommand } from './commands/flush-command.js';
import { jobCommand } from './commands/job-command.js';
import { runCommand } from './commands/run-command.js';
import { statusCommand } from './commands/status-command.js';
import { trackCommand } from './commands/track-command.js';

const io: CommandIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function fail(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`fieldline-agent: ${message}\n`);
  return 1;
}

/** Aborts on the first SIGINT/SIGTERM; a second one exits at once. */
function stopSignal(onSecond: () => void): AbortSignal {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) onSecond();
    else controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

async function main(command: AgentCliCommand): Promise<number> {
  switch (command.kind) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'usage-error':
      process.stderr.write(`fieldline-agent: ${command.message}\n\n${USAGE}`);
      return 2;
    case 'enroll':
      return (await enrollCommand(command, io)).exitCode;
    case 'run': {
      const signal = stopSignal(() => {
        process.stderr.write('fieldline-agent: second signal; exiting without waiting\n');
        process.exit(1);
      });
      return (await runCommand({ stateDir: command.stateDir, once: command.once, signal }, io))
        .exitCode;
    }
    case 'status':
      return (await statusCommand(command, io)).exitCode;
    case 'track':
      return (await trackCommand(command, io)).exitCode;
    case 'job': {
      // The child gets SIGTERM on our first signal and reports as killed; a second one exits now.
      const signal = stopSignal(() => process.exit(130));
      return (
        await jobCommand(
          { ...command, stdout: process.stdout, stderr: process.stderr, signal },
          {
            // The command's own stdout is ours: the agent's lines go to stderr only.
            out: io.err,
            err: io.err,
          },
        )
      ).exitCode;
    }
    case 'flush':
      return (await flushCommand(command, io)).exitCode;
    case 'consent':
      return (await consentCommand(command, io)).exitCode;
  }
}

main(parseAgentArgs(process.argv.slice(2))).then(
  (code) => {
    process.exitCode = code;
    // Flush stdout before exiting: piped output is written asynchronously.
    process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => process.exit(fail(error)),
);
