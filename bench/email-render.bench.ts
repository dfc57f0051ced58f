import fs from 'node:fs';
import path from 'node:path';
import mjml2html from 'mjml';
import { loadEmailTemplates } from '../lib/email-templates';

// E-mail rendering per core (issue 17 item 4): our templates are MJML compiled once at start, filled in with
// Handlebars per message (lib/email-templates.ts). Measured side by side with compiling the MJML per send (the
// MJML step alone, without even filling it in: a floor for that way of doing it), on the approval e-mail every
// approved learner gets. CPU time of this process, so the figure is per core whatever else the machine does.

const GOAL_PER_CORE = 10_000;
const OURS_RENDERS = 20_000;
const MJML_RENDERS = 200;

const data = {
  firstName: 'Anna', serviceCaseId: 'IMK-2026-000123', copay: false, caseUrl: 'https://imk.example.lv/learner/journeys/1',
  approvedAt: '5. decembris 2026', balance: '750,00 €',
};

/** Renders per CPU second of `count` sequential calls (after a warm-up of a tenth as many). */
async function perCpuSecond(count: number, render: () => unknown): Promise<number> {
  for (let i = 0; i < Math.ceil(count / 10); i += 1) await render();
  const before = process.cpuUsage();
  for (let i = 0; i < count; i += 1) await render();
  const used = process.cpuUsage(before);
  return count / ((used.user + used.system) / 1e6);
}

async function main(): Promise<boolean> {
  const templates = await loadEmailTemplates();
  const emails = path.join(__dirname, '..', 'emails');
  const source = fs.readFileSync(path.join(emails, '_layout', 'layout.mjml'), 'utf8')
    .replace('{{{content}}}', fs.readFileSync(path.join(emails, 'imk-approved', 'body.mjml'), 'utf8'));
  const ours = await perCpuSecond(OURS_RENDERS, () => templates.render('imk-approved', 'lv', data));
  const perSend = await perCpuSecond(MJML_RENDERS, () => mjml2html(source, { validationLevel: 'skip', fonts: {}, keepComments: false }));
  const ok = ours >= GOAL_PER_CORE;
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  process.stdout.write(`     MJML compiled per send: ${fmt(perSend)} renders/s/core; compiled once, filled per send: ${fmt(ours)} renders/s/core\n`);
  process.stdout.write(`${ok ? 'ok  ' : 'MISS'} e-mail renders/s/core ${fmt(ours)} (goal ≥ ${fmt(GOAL_PER_CORE)}), ratio to MJML per send ${(ours / perSend).toFixed(0)}×\n`);
  return ok;
}

main().then((ok) => process.exit(ok ? 0 : 1), (err: unknown) => { console.error(err); process.exit(1); });
