// Runs the shell walkthrough of a README as a newcomer would, and fails on the first step that
// does not do what the README says.
//
//   node scripts/readme-doctest.mjs README.md examples/reference-agent/README.md
//
// Every ```sh block is run from the repository root, one command at a time, verbatim, in one
// shared environment (`export NAME=value` lines set it, as they would in a terminal). The
// `# …` lines after a command are its expected output: each must match a line of what the
// command printed (stdout and stderr), in order, where `…` stands for any text. A trailing
// `(exit N)` expects that exit code; otherwise the command must exit 0. A command holding a
// `…` placeholder (`export DEVICE=dev_…`) is one the reader fills in from an earlier output:
// it must name a variable a `capture` directive set, and that value is used.
//
// HTML comments right before a block steer the run without showing in the rendered README:
//   <!-- doctest: skip — why -->                        not run (say why)
//   <!-- doctest: background as=NAME -->               start it, wait until it printed its `# …`
//                                                       lines (or `until=/regex/` matched)
//   <!-- doctest: background then-stop -->              … then press Ctrl+C and expect exit 0
//   <!-- doctest: capture NAME=/regex with (group)/ --> set NAME from the block's output
//   <!-- doctest: wait until=/regex/ in=NAME -->        wait for a background process's output
// Background processes get SIGINT when the walkthrough ends and must exit 0 within 15 s, as
// "Ctrl+C shuts it down" promises.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const ROOT = new URL('..', import.meta.url).pathname;
const COMMAND_TIMEOUT_MS = 180_000;
const BACKGROUND_TIMEOUT_MS = 300_000;

function parseDirective(text) {
  const directive = {
    skip: false,
    background: false,
    until: null,
    stop: false,
    name: 'job',
    captures: [],
    wait: null,
  };
  if (/^skip\b/.test(text)) directive.skip = true;
  directive.background = /(?:^|\s)background\b/.test(text);
  directive.stop = /(?:^|\s)then-stop\b/.test(text);
  const until = /(?:^|\s)until=\/(.+?)\/(?=\s|$)/.exec(text);
  if (until && !/wait until=/.test(text)) directive.until = new RegExp(until[1]);
  const name = /(?:^|\s)as=(\w+)/.exec(text);
  if (name) directive.name = name[1];
  const wait = /(?:^|\s)wait until=\/(.+?)\/ in=(\w+)/.exec(text);
  if (wait) directive.wait = { pattern: new RegExp(wait[1]), name: wait[2] };
  for (const capture of text.matchAll(/capture (\w+)=\/(.+?)\/(?=\s|$)/g)) {
    directive.captures.push({ name: capture[1], pattern: new RegExp(capture[2]) });
  }
  return directive;
}

/** The README's sh blocks, each with its commands, their expectations and its directive. */
function parseBlocks(markdown) {
  const blocks = [];
  const lines = markdown.split('\n');
  let directive = parseDirective('');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const comment = /^<!--\s*doctest:\s*(.*?)\s*-->$/.exec(line.trim());
    if (comment) {
      directive = parseDirective(comment[1]);
      continue;
    }
    if (line.trim() !== '```sh') {
      if (line.trim() !== '') directive = parseDirective('');
      continue;
    }
    const body = [];
    const startLine = index + 1;
    for (index++; index < lines.length && lines[index].trim() !== '```'; index++) {
      body.push(lines[index]);
    }
    blocks.push({ startLine, directive, commands: parseCommands(body) });
    directive = parseDirective('');
  }
  return blocks;
}

function parseCommands(body) {
  const commands = [];
  let pending = '';
  for (const raw of body) {
    const line = raw.trimEnd();
    if (pending === '' && line.startsWith('#')) {
      const last = commands.at(-1);
      if (!last) continue;
      const expected = line.replace(/^#\s?/, '');
      const exit = /\s*\(exit (\d+)\)$/.exec(expected);
      if (exit) last.exitCode = Number(exit[1]);
      const text = exit ? expected.slice(0, exit.index) : expected;
      if (text.trim() !== '') last.expected.push(text.trim());
      continue;
    }
    if (line === '' && pending === '') continue;
    if (line.endsWith('\\')) {
      pending += `${line}\n`;
      continue;
    }
    commands.push({ text: pending + line, expected: [], exitCode: 0 });
    pending = '';
  }
  return commands;
}

function expectationPattern(expected) {
  const parts = expected.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(parts.join('.*?'));
}

/** Index past the last expected line matched in order, or the first expectation that failed. */
function matchInOrder(output, expected) {
  const lines = output.split('\n');
  let at = 0;
  for (const want of expected) {
    const pattern = expectationPattern(want);
    const found = lines.findIndex((line, index) => index >= at && pattern.test(line));
    if (found === -1) return { ok: false, missing: want };
    at = found + 1;
  }
  return { ok: true };
}

const env = { ...process.env };
const captured = new Map();
const background = new Map();

function applyPlaceholder(command) {
  const assignment = /^export (\w+)=(\S*…\S*)(\s+#.*)?$/.exec(command.text.trim());
  if (!assignment) {
    throw new Error(`a placeholder outside "export NAME=…": ${command.text}`);
  }
  const [, name] = assignment;
  if (!captured.has(name)) {
    throw new Error(`${name} is a placeholder, but no earlier step captured a value for it`);
  }
  env[name] = captured.get(name);
}

function applyExport(command) {
  const assignments = command.text.trim().slice('export '.length).split(/\s+/);
  for (const assignment of assignments) {
    const equals = assignment.indexOf('=');
    const value = assignment.slice(equals + 1).replace(/\$(\w+)/g, (_, name) => env[name] ?? '');
    env[assignment.slice(0, equals)] = value;
  }
}

function runInShell(text) {
  return spawn('bash', ['-c', text], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
}

function collect(child) {
  const state = { output: '', listeners: new Set() };
  const take = (chunk) => {
    state.output += chunk.toString('utf8');
    for (const listener of state.listeners) listener();
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  return state;
}

function waitForOutput(state, child, pattern, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (pattern.test(state.output)) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code) => {
      cleanup();
      reject(new Error(`${what} exited (${code}) before printing ${pattern}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} did not print ${pattern} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      state.listeners.delete(check);
      child.off('exit', onExit);
    };
    state.listeners.add(check);
    child.on('exit', onExit);
    check();
  });
}

function runForeground(text) {
  return new Promise((resolve, reject) => {
    const child = runInShell(text);
    const state = collect(child);
    const timer = setTimeout(() => {
      process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`timed out after ${COMMAND_TIMEOUT_MS / 1000} s`));
    }, COMMAND_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, output: state.output });
    });
  });
}

/** Sets every capture of the block that the output so far matches; with `final`, all must. */
function applyCaptures(directive, output, final) {
  for (const { name, pattern } of directive.captures) {
    const match = pattern.exec(output);
    if (match) captured.set(name, match[1] ?? match[0]);
    else if (final) throw new Error(`capture ${name}: ${pattern} matched nothing in:\n${output}`);
  }
}

/** Waits until a background process printed every expected line, in order. */
function expectationsMet(expected) {
  return {
    test: (output) => matchInOrder(output, expected).ok,
    toString: () => expected.join(' / '),
  };
}

function describe(command) {
  return command.text.replace(/\s*\\\n\s*/g, ' ');
}

async function runBlock(file, block) {
  const { directive } = block;
  if (directive.skip) return;
  if (directive.wait) {
    const job = background.get(directive.wait.name);
    if (!job) throw new Error(`wait: no background process named ${directive.wait.name}`);
    await waitForOutput(
      job.state,
      job.child,
      directive.wait.pattern,
      BACKGROUND_TIMEOUT_MS,
      job.what,
    );
  }
  if (directive.background) {
    const [command] = block.commands;
    process.stdout.write(`$ ${describe(command)} &\n`);
    const startedAt = Date.now();
    const child = runInShell(command.text);
    const state = collect(child);
    const what = `${file}:${block.startLine} \`${describe(command)}\``;
    const job = { child, state, what };
    background.set(directive.name, job);
    const ready = directive.until ?? expectationsMet(command.expected);
    await waitForOutput(state, child, ready, BACKGROUND_TIMEOUT_MS, what);
    process.stdout.write(`  (ready after ${((Date.now() - startedAt) / 1000).toFixed(1)} s)\n`);
    const match = matchInOrder(state.output, command.expected);
    if (!match.ok) throw new Error(`${what} did not print "${match.missing}":\n${state.output}`);
    applyCaptures(directive, state.output, true);
    if (directive.stop) {
      const failure = await interrupt(job);
      background.delete(directive.name);
      if (failure) throw new Error(failure);
    }
    return;
  }
  let blockOutput = '';
  for (const command of block.commands) {
    const where = `${file}:${block.startLine} \`${describe(command)}\``;
    if (command.text.includes('…')) {
      applyPlaceholder(command);
      process.stdout.write(`$ ${describe(command)}   (filled in from an earlier step)\n`);
      continue;
    }
    process.stdout.write(`$ ${describe(command)}\n`);
    if (/^export \w+=/.test(command.text.trim())) {
      applyExport(command);
      continue;
    }
    const { code, output } = await runForeground(command.text);
    blockOutput += output;
    applyCaptures(directive, blockOutput, false);
    if (code !== command.exitCode) {
      throw new Error(`${where} exited ${code}, the README says ${command.exitCode}:\n${output}`);
    }
    const match = matchInOrder(output, command.expected);
    if (!match.ok) {
      throw new Error(`${where} did not print "${match.missing}"; it printed:\n${output}`);
    }
  }
  applyCaptures(directive, blockOutput, true);
}

/** Ctrl+C, as a person would press it; the failure, if it did not end the process cleanly. */
async function interrupt(job) {
  if (job.child.exitCode !== null || job.child.signalCode !== null) {
    return `${job.what} had already exited (${job.child.exitCode ?? job.child.signalCode})`;
  }
  // npm and bash pass Ctrl+C on and then end by the same signal, as in a terminal: that, exit 0
  // or 130 is a clean stop; any other code means the program failed to shut down.
  const exited = new Promise((resolve) =>
    job.child.on('close', (code, signal) => resolve(signal === 'SIGINT' ? 130 : code)),
  );
  process.kill(-job.child.pid, 'SIGINT');
  const code = await Promise.race([
    exited,
    new Promise((resolve) => setTimeout(() => resolve('timeout'), 15_000)),
  ]);
  if (code === 'timeout') {
    process.kill(-job.child.pid, 'SIGKILL');
    return `${job.what} did not exit within 15 s of Ctrl+C`;
  }
  if (code !== 0 && code !== 130) {
    return `${job.what} exited ${code} on Ctrl+C:\n${job.state.output.slice(-2000)}`;
  }
  return null;
}

async function stopBackground() {
  const failures = [];
  for (const [, job] of [...background].reverse()) {
    const failure = await interrupt(job);
    if (failure) failures.push(failure);
  }
  return failures;
}

async function portInUse(port) {
  const { createConnection } = await import('node:net');
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

if (await portInUse(8080)) {
  process.stderr.write(
    'readme-doctest: something already listens on 127.0.0.1:8080, where the README starts its server; stop it first.\n',
  );
  process.exit(1);
}

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node scripts/readme-doctest.mjs README.md [MORE.md...]\n');
  process.exit(2);
}
let failure = null;
const started = Date.now();
try {
  for (const file of files) {
    process.stdout.write(`\n== ${file}\n`);
    for (const block of parseBlocks(readFileSync(new URL(file, `file://${ROOT}`), 'utf8'))) {
      await runBlock(file, block);
    }
  }
} catch (error) {
  failure = error instanceof Error ? error.message : String(error);
}
const stopFailures = await stopBackground();
if (failure || stopFailures.length > 0) {
  process.stderr.write(
    `\nreadme-doctest: FAILED\n${[failure, ...stopFailures].filter(Boolean).join('\n')}\n`,
  );
  process.exit(1);
}
process.stdout.write(
  `\nreadme-doctest: every step did what the README says (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
);
