/**
 * Provider work in flight during the drill, through the same doors: three institutions register (one confirms
 * its e-mail and is approved by agency staff, one confirms and waits for the agency, one never confirms), and
 * the demo provider drafts three offers in the open call (two submitted, with the automated checks, one left a
 * draft). Each has a stage it must be at when the drill is over.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { OFFER_DOCUMENT_KINDS } from '../seed-calls';
import { SAMPLE_COMPANIES, SAMPLE_INSTITUTIONS } from '../seed-institutions';
import { until, type DrillClient } from './client';

/** What the provider flows need. */
export interface ProviderDeps {
  call: DrillClient;
  mailCatcherUrl: string;
  staffToken: () => Promise<string>;
  providerToken: () => Promise<string>;
  /** The provider registered with this e-mail address, read from the database. */
  providerIdByEmail: (email: string) => Promise<string | null>;
  /** A provider's registration status, read from the database. */
  providerStatus: (providerId: string) => Promise<string | null>;
}

/** One flow as the drill left it: how to read its stage at the end, and the stage expected. */
export interface ProviderFlow { name: string; expected: string; error: string | null; stage(): Promise<string | null> }

/** A PDF the upload checks accept (the same sample the tests use). */
const SAMPLE_PDF = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const PASSWORD = 'Drill-Mācības#2026-Zx';

/** Starts every provider flow; resolves once each has taken its last step (or given up). */
export async function driveProviderFlows(deps: ProviderDeps): Promise<ProviderFlow[]> {
  const registrations = [
    { key: 'second' as const, confirm: true, approve: true, expected: 'approved' },
    { key: 'young' as const, confirm: true, approve: false, expected: 'awaiting_approval' },
    { key: 'unaccredited' as const, confirm: false, approve: false, expected: 'awaiting_email' },
  ].map(async (plan): Promise<ProviderFlow> => {
    let providerId: string | null = null;
    let error: string | null = null;
    try {
      providerId = await register(deps, plan.key);
      if (plan.confirm) await confirm(deps, plan.key);
      if (plan.approve) await approveRegistration(deps, providerId);
    } catch (err) {
      error = (err as Error).message;
    }
    return {
      name: `registration of ${plan.key}`, expected: plan.expected, error,
      stage: async () => (providerId ? deps.providerStatus(providerId) : null),
    };
  });
  const offers = [true, true, false].map(async (submit, i): Promise<ProviderFlow> => {
    let offerId: string | null = null;
    let error: string | null = null;
    try {
      offerId = await draftOffer(deps, i);
      if (submit) await submitOffer(deps, offerId);
    } catch (err) {
      error = (err as Error).message;
    }
    return {
      name: `offer ${i + 1}${submit ? ' (submitted)' : ' (draft)'}`, expected: submit ? 'submitted' : 'draft', error,
      stage: async () => {
        if (!offerId) return null;
        const answer = await deps.call('GET', `/api/provider/offers/${offerId}`, { token: await deps.providerToken() });
        return answer.status === 200 ? (answer.json as { state: string }).state : null;
      },
    };
  });
  return Promise.all([...registrations, ...offers]);
}

const emailOf = (key: string) => `provider-${key}@drill.test`;

async function register(deps: ProviderDeps, key: 'second' | 'young' | 'unaccredited'): Promise<string> {
  const fields: Record<string, string> = {
    institutionName: `Drill institution ${key}`, companyRegistrationNumber: SAMPLE_COMPANIES[key], educationRegistrationNumber: SAMPLE_INSTITUTIONS[key],
    firstName: 'Drill', lastName: `Registrant ${key}`, email: emailOf(key), password: PASSWORD, passwordRepeat: PASSWORD, language: 'lv',
  };
  return until(`registration of ${key}`, async () => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('declaration', new Blob([SAMPLE_PDF], { type: 'application/pdf' }), 'declaration.pdf');
    const answer = await deps.call('POST', '/api/providers/registrations', { body: form });
    // Taken by an attempt whose answer was lost: the e-mail is registered now.
    const earlier = answer.status === 409 ? await deps.providerIdByEmail(emailOf(key)) : null;
    return earlier ? { ...answer, status: 201, json: { providerId: earlier } } : answer;
  }, (answer) => (answer.status === 201 ? (answer.json as { providerId: string }).providerId : undefined));
}

/** Follows the link of the confirmation e-mail (waiting for it: e-mail retries back off during faults). */
async function confirm(deps: ProviderDeps, key: string): Promise<void> {
  const deadline = Date.now() + 8 * 60_000;
  let token: string | null = null;
  while (!token) {
    const messages = (await (await fetch(`${deps.mailCatcherUrl}/api/messages`)).json()) as { to: string[]; text: string }[];
    const mail = messages.find((m) => m.to.includes(emailOf(key)));
    const match = mail && /confirm\?token=([^\s&"]+)/.exec(mail.text);
    if (match) token = decodeURIComponent(match[1]!);
    else if (Date.now() > deadline) throw new Error(`no confirmation e-mail for ${key}`);
    else await sleep(2_000);
  }
  await until(`confirmation of ${key}`, () => deps.call('POST', '/api/providers/confirmations', { json: { token } }), (a) => (a.status === 200 ? true : undefined));
}

async function approveRegistration(deps: ProviderDeps, providerId: string): Promise<void> {
  const taskId = await until(`approval task of provider ${providerId}`, async () => {
    const answer = await deps.call('GET', '/api/staff/tasks?type=approve-provider', { token: await deps.staffToken() });
    if (answer.status !== 200) return answer;
    const task = (answer.json as { tasks: { id: string; providerId: string }[] }).tasks.find((t) => t.providerId === providerId);
    return task ? { ...answer, json: task } : { ...answer, status: 425 };
  }, (answer) => (answer.status === 200 ? (answer.json as { id: string }).id : undefined));
  await until(`approval of provider ${providerId}`, async () => deps.call('POST', `/api/staff/tasks/${taskId}/decision`, {
    token: await deps.staffToken(), json: { decision: 'approve', comment: '' },
  }), (answer) => (answer.status === 200 || (answer.status === 409 && (answer.json as { error?: { code: string } })?.error?.code === 'already_decided') ? true : undefined));
}

const OFFER_FIELDS = {
  competence: 'Kiberdrošības tehniķis', descriptionLv: 'Tīklu un sistēmu aizsardzības pamati.', descriptionEn: 'Basics of protecting networks and systems.',
  prerequisitesLv: 'Datorprasmes.', prerequisitesEn: 'Computer skills.', language: 'lv', digcompLevel: 5, digitalSharePercent: 80,
  hoursTheory: 80, hoursPractice: 80, licenceNumber: 'P-00001 (paraugs)', coefficientCode: 'ICT-DB-NET', statedCostCents: 32_000,
  places: [{ address: 'Rīga, Brīvības iela 1 (paraugs)' }],
};

async function draftOffer(deps: ProviderDeps, i: number): Promise<string> {
  const token = await deps.providerToken();
  const callId = await until('the open call', () => deps.call('GET', '/api/provider/offers', { token }),
    (a) => (a.status === 200 ? (a.json as { openCalls: { id: string }[] }).openCalls[0]?.id : undefined));
  const requestId = randomUUID();
  const offerId = await until(`draft offer ${i + 1}`, () => deps.call('POST', '/api/provider/offers', {
    token, json: { callId, requestId, titleLv: `Drill piedāvājums ${i + 1}`, titleEn: `Drill offer ${i + 1}` },
  }), (a) => (a.status === 201 ? (a.json as { id: string }).id : undefined));
  await until(`fields of offer ${i + 1}`, () => deps.call('POST', `/api/provider/offers/${offerId}`, { token, json: OFFER_FIELDS }), (a) => (a.status === 200 ? true : undefined));
  for (const kind of OFFER_DOCUMENT_KINDS) {
    await until(`document ${kind} of offer ${i + 1}`, () => {
      const form = new FormData();
      form.append('file', new Blob([SAMPLE_PDF], { type: 'application/pdf' }), `${kind}.pdf`);
      return deps.call('POST', `/api/provider/offers/${offerId}/documents/${kind}`, { token, body: form });
    }, (a) => (a.status === 201 ? true : undefined));
  }
  return offerId;
}

async function submitOffer(deps: ProviderDeps, offerId: string): Promise<void> {
  const token = await deps.providerToken();
  const requestId = randomUUID();
  await until(`submission of offer ${offerId}`, async () => {
    // Submitted by an attempt whose answer was lost: the offer shows it.
    const now = await deps.call('GET', `/api/provider/offers/${offerId}`, { token });
    if (now.status === 200 && (now.json as { state: string }).state === 'submitted') return now;
    return deps.call('POST', `/api/provider/offers/${offerId}/submit`, { token, json: { requestId } });
  }, (a) => (a.status === 200 ? true : undefined));
}
