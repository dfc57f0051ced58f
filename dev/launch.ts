/**
 * `make run`: the whole stack on this machine (dev/services/stack.ts) with data kept in .data/ between runs.
 * Every address can be pointed elsewhere by environment variable; whatever is given is not started here.
 */
import path from 'node:path';
import { stopAll, stopOnSignals, stopRequested } from './services/processes';
import { startStack } from './services/stack';

const dataDir = path.resolve(__dirname, '..', '.data');

async function main(): Promise<void> {
  stopOnSignals();
  const stack = await startStack({ dataDir, env: process.env, stopStrayProcesses: true });
  printSummary(stack.env, stack.publicUrl);
}

function printSummary(env: NodeJS.ProcessEnv, publicUrl: string): void {
  const rows: [string, string | undefined][] = [
    ['Web app', publicUrl],
    ['Staff inbox', `${publicUrl}/staff/tasks`],
    ['Workflow console', `${publicUrl}/admin/workflows`],
    ['Catalogue', `${publicUrl}/catalogue`],
    ['OpenAPI', `${publicUrl}/api/openapi.json`],
    ['API metrics', `http://127.0.0.1:${env.METRICS_PORT}/metrics`],
    ['Worker metrics', `http://127.0.0.1:${env.WORKER_METRICS_PORT}/metrics`],
    ['Temporal Web UI', env.TEMPORAL_UI_URL],
    ['Temporal', env.TEMPORAL_ADDRESS],
    ['Mail catcher', env.MAIL_CATCHER_URL],
    ['Population Reg.', env.POPULATION_REGISTER_URL],
    ['SOPA', env.SOPA_URL],
    // issue 17 (registries): the worker's client certificate for SOPA's mutual TLS (dev/tls.ts when the stub runs).
    ['SOPA client cert', env.SOPA_CLIENT_CERT],
    ['VIIS', env.VIIS_URL],
    ['Enterprise Reg.', env.ENTERPRISE_REGISTER_URL],
    ['Service platform', env.SERVICE_PLATFORM_URL],
    ['E-address', env.E_ADDRESS_URL],
    ['PostgreSQL', env.DATABASE_URL],
  ];
  const lines = [
    'Learning accounts are running. Ctrl-C (or SIGTERM) stops everything started here; data stays in .data/.',
    'A process that dies is started again (look for lines starting with !!!).',
    '',
    ...rows.filter((row): row is [string, string] => Boolean(row[1])).map(([label, url]) => `  ${label.padEnd(16)} ${url}`),
    '',
    'Demo logins',
    '  Learners sign in through the SSO stub: pick',
    '    Anna Bērziņa   321178-40215  eligible',
    '    Līga Ozola     010309-21234  under 18',
    '    Pēteris Liepa  120345-10001  deceased',
    '    Marta Zariņa   220288-10458  also a coordinator for Daugavpils (choose the role after sign-in)',
    '  Agency staff     staff    / Agentura#2026   (also staff2 / Kolegis#2026)',
    '  Team lead        lead     / Vaditaja#2026   (assigns tasks to colleagues)',
    '  Administrator    admin    / Admins#2026x    (first login: set up the second factor on the page shown;',
    '                   no phone at hand: node --import tsx dev/totp-code.ts SECRET prints the current code)',
    '  Provider         provider / Provider#2026   (administrator of the demo provider)',
    '',
    'Temporal holds payloads encrypted. To read them decoded in the Temporal Web UI, log in here as admin first, then',
    '  in the Web UI open the codec settings (the data encoder icon at the top), use your browser\'s setting with',
    `  the endpoint ${publicUrl}/api/codec and tick "Include cross-origin credentials".`,
  ];
  const rule = '='.repeat(78);
  process.stdout.write(`\n${rule}\n${lines.join('\n')}\n${rule}\n\n`);
}

main().catch(async (error: unknown) => {
  // Stopped by a signal while starting: the signal handler is already stopping everything and will exit.
  if (stopRequested()) return;
  process.stderr.write(`\nmake run failed: ${error instanceof Error ? error.message : String(error)}\n`);
  await stopAll();
  process.exit(1);
});
