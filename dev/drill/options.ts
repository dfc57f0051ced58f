/** The drill's command line: `--journeys N` and `--short` (20 journeys, worker kill -9 and SMTP faults only). */

/** What the command line asks for. */
export interface DrillOptions { journeys: number; short: boolean }

/** Parses the arguments; throws a message naming what is wrong. */
export function parseDrillOptions(argv: readonly string[]): DrillOptions {
  const short = argv.includes('--short');
  let journeys = short ? 20 : 200;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--short') continue;
    const value = arg === '--journeys' ? argv[++i] : arg.startsWith('--journeys=') ? arg.slice('--journeys='.length) : undefined;
    if (value === undefined) throw new Error(`unknown argument ${arg}; use --journeys N and/or --short`);
    journeys = Number(value);
    if (!Number.isInteger(journeys) || journeys < 10 || journeys > 5_000) throw new Error('--journeys must be a whole number from 10 to 5000 (10 covers every scenario)');
  }
  return { journeys, short };
}
