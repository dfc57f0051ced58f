/**
 * `make check-build`: proves the build (`make build`, dist/) runs as production runs it. Starts this checkout's
 * whole stack on free ports of its own and .data/check-build, with the seed, the stubs, the worker and the API as
 * `node dist/...js` (no tsx; the worker loads dist/workflow-bundle.js), then checks that the API answers /health
 * and /api/ready, that the worker polls (its /metrics), and prints how long each took to start and the memory
 * each holds. Exit 0 when all of it works. Takes about a minute (its own PostgreSQL and Temporal dev server), so
 * it is not part of `make test`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../lib/config';
import { createDataConverter } from '../lib/data-converter';
import { createDb } from '../lib/db';
import { connectTemporalClient } from '../lib/temporal';
import { CURRENT_TERMS_VERSION } from '../domain/terms';
import { learnerJourneyId } from '../workflows/ids';
import type { learnerJourney } from '../workflows/learner-journey';
import { seedPeople } from './seed-people';
import { stopAll, stopOnSignals } from './services/processes';
import { secondStackEnv, startStack } from './services/stack';

const root = path.resolve(__dirname, '..');
const dataDir = path.join(root, '.data', 'check-build');
const COMPILED_FILES = ['api/main.js', 'worker/main.js', 'workflow-bundle.js'];

/** Resident memory of a process in MB (Linux: /proc), or null. */
function rssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Math.round(Number(kb) / 1024) : null;
}

async function main(): Promise<void> {
  stopOnSignals();
  // `--source`: the same check on the TypeScript under tsx, to compare start times and memory with the build.
  const compiled = !process.argv.includes('--source');
  for (const file of compiled ? COMPILED_FILES : []) {
    if (!fs.existsSync(path.join(root, 'dist', file))) throw new Error(`dist/${file} is missing: run \`make build\` first`);
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
  const env = await secondStackEnv(process.env);
  const started = Date.now();
  const stack = await startStack({ dataDir, env, freshPostgres: true, compiled });
  process.stdout.write(`${compiled ? 'compiled' : 'tsx'} stack ready in ${Math.round((Date.now() - started) / 1000)} s\n`);
  for (const [service, arg] of compiled ? [[stack.api, 'dist/api/main.js'], [stack.worker, 'dist/worker/main.js']] as const : []) {
    const cmdline = fs.readFileSync(`/proc/${service.current.pid}/cmdline`, 'utf8').split('\0');
    if (!cmdline.some((a) => a.endsWith(arg)) || cmdline.includes('tsx')) throw new Error(`${service.name} runs ${cmdline.join(' ')}, not ${arg}`);
  }
  const health = await fetch(`${stack.publicUrl}/api/health`);
  if (health.status !== 200) throw new Error(`GET /api/health: HTTP ${health.status} ${await health.text()}`);
  const ready = await fetch(`${stack.publicUrl}/api/ready`);
  if (ready.status !== 200) throw new Error(`GET /api/ready: HTTP ${ready.status}`);
  // Pages read views, translations and assets from beside the compiled code.
  const page = await fetch(`${stack.publicUrl}/`);
  if (page.status !== 200 || !(await page.text()).includes('<html')) throw new Error(`GET /: HTTP ${page.status}`);
  await journeyToApproval(stack.env);
  process.stdout.write(`GET /api/health 200, /api/ready 200, / 200; a journey reached imk_approved and its e-mail was sent; `
    + `RSS: api ${rssMb(stack.api.current.pid)} MB, worker ${rssMb(stack.worker.current.pid)} MB\n`);
}

/**
 * One learner journey through the compiled worker (workflow bundle, activities, registries, e-mail template) to
 * its approval, and the approval e-mail in the mail catcher.
 */
async function journeyToApproval(env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadConfig(env);
  const client = await connectTemporalClient({ ...config.temporal, dataConverter: createDataConverter(config.payloadKeyring) });
  const db = createDb(config.databaseUrl, { min: 0, max: 1 });
  try {
    const person = seedPeople.find((p) => p.note === 'adult, eligible')!;
    const caseId = randomUUID();
    await client.workflow.start<typeof learnerJourney>('learnerJourney', {
      workflowId: learnerJourneyId(caseId), taskQueue: config.temporal.taskQueue,
      args: [{
        caseId, personCode: person.personCode, programme: 'IMK',
        registration: { email: 'check-build@example.lv', phone: null, language: 'lv', termsVersion: CURRENT_TERMS_VERSION, termsAcceptedAt: new Date().toISOString() },
        actor: { role: 'learner', id: person.personCode, name: person.firstName, channel: 'e-service' }, timing: { approvalDue: '1 day' },
      }],
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const row = await db('cases').where({ id: caseId }).first<{ stage: string } | undefined>('stage');
      const sent = await db('emailOutbox').where({ caseId, status: 'sent' }).first<{ template: string } | undefined>('template');
      if (row?.stage === 'imk_approved' && sent) break;
      if (Date.now() > deadline) throw new Error(`the journey did not reach imk_approved with its e-mail sent (stage ${row?.stage ?? 'none'})`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await client.workflow.getHandle(learnerJourneyId(caseId)).terminate('check-build done');
  } finally {
    await db.destroy();
    await client.connection.close();
  }
}

main().then(async () => {
  await stopAll();
  process.stdout.write('the API and the worker start and serve\n');
  process.exit(0);
}, async (error: unknown) => {
  await stopAll();
  process.stderr.write(`check-build failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
