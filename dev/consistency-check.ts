import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { checkConsistency, summaryLine } from '../api/services/consistency';
import { within } from '../lib/concurrency';
import { loadPayloadKeyring, loadTemporalTls, type TemporalTlsFiles } from '../lib/config';
import { createDataConverter } from '../lib/data-converter';
import { createDb } from '../lib/db';
import { unreachableDependency } from '../lib/dependency-errors';
import { connectTemporalClient } from '../lib/temporal';

/**
 * The consistency check as a command, for `make consistency`, the end of the test run and the fault drill:
 *
 *   node --import tsx dev/consistency-check.ts [--json] [--settle-seconds N]
 *
 * Environment: DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE (default `default`), optional
 * TEMPORAL_TASK_QUEUE (only that queue's workflows are listed; without it, the whole namespace), PUBLIC_URL
 * (links printed absolute) and TEMPORAL_TLS_* (as the API reads them). Prints one line per violation (rule, subject,
 * link) and then exactly one line `consistency: N violations (...)`; with --json, the report as JSON instead.
 * Exit status: 0 no violations, 1 violations, 2 the check could not be made (the message names PostgreSQL or Temporal).
 *
 * --settle-seconds: rows and workflows younger than this are left for the next run (default 120, SETTLE_MS). The
 * fault drill and the fuzz stage pass a few seconds: they run the check once their traffic has stopped and every
 * journey has come to rest, so nothing is mid-transition and everything should be looked at.
 */

/** How long each dependency has to answer the first question before the command gives up on it. */
const REACH_MS = 5_000;

function fail(message: string): never {
  process.stderr.write(`consistency: could not check: ${message}\n`);
  process.exit(2);
}

/** TEMPORAL_TLS_* as the API and the worker read them; a file that cannot be read ends the check (exit 2). */
function temporalTlsOrFail(): TemporalTlsFiles | null {
  try {
    return loadTemporalTls();
  } catch (err) {
    return fail((err as Error).message);
  }
}

/**
 * The payload codec when PAYLOAD_KEYS is given (as the API and the worker read it); without it, none: the check
 * reads workflow statuses only, never a payload, so `make consistency` needs no key.
 */
function dataConverterOrFail(): DataConverter {
  if (!process.env.PAYLOAD_KEYS?.trim()) return {};
  try {
    return createDataConverter(loadPayloadKeyring());
  } catch (err) {
    return fail((err as Error).message);
  }
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const settleMs = settleOption(process.argv);
  const databaseUrl = process.env.DATABASE_URL;
  const temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!databaseUrl) fail('DATABASE_URL is not set');
  if (!temporalAddress) fail('TEMPORAL_ADDRESS is not set');
  const namespace = process.env.TEMPORAL_NAMESPACE || 'default';
  const taskQueue = process.env.TEMPORAL_TASK_QUEUE || null;
  const publicUrl = (process.env.PUBLIC_URL ?? '').replace(/\/$/, '');

  const db = createDb(databaseUrl, { min: 0, max: 4 }, { queryTimeoutMs: 30_000, acquireTimeoutMs: REACH_MS });
  let temporal: Client | undefined;
  try {
    await reach('PostgreSQL', databaseUrl, () => db.raw('SELECT 1'));
    temporal = await connectTemporalClient({ address: temporalAddress, namespace, tls: temporalTlsOrFail(), dataConverter: dataConverterOrFail() });
    const client = temporal;
    await reach('Temporal', `${temporalAddress} (namespace ${namespace})`, () => client.workflowService.describeNamespace({ namespace }));
    let report;
    try {
      report = await checkConsistency({ db, temporal, taskQueue }, settleMs === undefined ? {} : { settleMs });
    } catch (err) {
      const down = unreachableDependency(err);
      if (down) fail(`${down === 'temporal' ? 'Temporal' : 'PostgreSQL'} stopped answering during the check (${message(err)})`);
      throw err;
    }
    if (json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      for (const v of report.violations) {
        process.stdout.write(`${v.rule}\t${v.subject.kind} ${v.subject.id}\t${publicUrl}${v.link}\t${v.message.en}\n`);
      }
      process.stdout.write(`${summaryLine(report)}\n`);
    }
    process.exitCode = report.violations.length === 0 ? 0 : 1;
  } finally {
    await db.destroy().catch(() => undefined);
    await temporal?.connection.close().catch(() => undefined);
  }
}

/** The --settle-seconds value in milliseconds, or undefined for the default. */
function settleOption(argv: readonly string[]): number | undefined {
  const at = argv.indexOf('--settle-seconds');
  if (at < 0) return undefined;
  const seconds = Number(argv[at + 1]);
  if (!Number.isInteger(seconds) || seconds < 0) fail(`--settle-seconds takes a whole number of seconds, got ${argv[at + 1] ?? 'nothing'}`);
  return seconds * 1000;
}

// One question with a deadline: an unreachable or mute dependency is exit 2 naming it, never a hang.
async function reach(name: string, where: string, ask: () => Promise<unknown>): Promise<void> {
  let answered;
  try {
    answered = await within(ask().then(() => true), REACH_MS);
  } catch (err) {
    fail(`${name} at ${redact(where)} is unreachable (${message(err)})`);
  }
  if (!answered) fail(`${name} at ${redact(where)} did not answer within ${REACH_MS / 1000} s`);
}

// A database URL's password is not printed.
function redact(where: string): string {
  return where.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

function message(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

main().catch((err: unknown) => {
  process.stderr.write(`consistency: could not check: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(2);
});
