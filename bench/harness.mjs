// Tiny measurement harness: warm up, then run timed rounds and keep the
// median, so one GC pause or a noisy neighbour does not decide the figure.
import { performance } from 'node:perf_hooks';

/**
 * Runs `fn` (sync or async; it processes `unitsPerCall` units per call)
 * repeatedly for `rounds` rounds of at least `roundMs` each.
 * @returns {Promise<{ unitsPerSecond: number, msPerCall: number }>}
 */
export async function measure(
  fn,
  { unitsPerCall = 1, rounds = 7, roundMs = 300, warmupMs = 300 } = {},
) {
  const runFor = async (ms) => {
    let calls = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < ms) {
      const r = fn();
      if (r && typeof r.then === 'function') await r;
      calls++;
      elapsed = performance.now() - start;
    }
    return { calls, elapsed };
  };
  await runFor(warmupMs);
  const rates = [];
  for (let i = 0; i < rounds; i++) {
    const { calls, elapsed } = await runFor(roundMs);
    rates.push({ perSecond: (calls * unitsPerCall * 1000) / elapsed, msPerCall: elapsed / calls });
  }
  rates.sort((a, b) => a.perSecond - b.perSecond);
  const median = rates[Math.floor(rates.length / 2)];
  return { unitsPerSecond: median.perSecond, msPerCall: median.msPerCall };
}

/** Prints rows as an aligned text table (also valid Markdown). */
export function printTable(title, columns, rows) {
  const cells = [columns, ...rows.map((row) => columns.map((c) => String(row[c] ?? '')))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n${title}\n`);
  console.log(line(cells[0]));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const r of cells.slice(1)) console.log(line(r));
}

/** Formats a number with thousands separators and no decimals. */
export const fmt = (n) => Math.round(n).toLocaleString('en-US');
