/**
 * Drives one drill learner through the real doors, as a patient user would: sign in at the single sign-on stub,
 * register for the programme, wait for the account's decision, apply for the drill's offer, and the provider's
 * or the learner's next step; agency staff decide MN approvals in the inbox. Every request that meets an outage
 * is repeated after a pause (with the same request id, so nothing is done twice).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import { until, type DrillAnswer, type DrillClient, type Phases } from './client';
import type { DrillLearner } from './scenarios';

/** What the drill needs to drive learners: the API client, the stubs, the staff and provider sessions. */
export interface LearnerDeps {
  call: DrillClient;
  phases: Phases;
  ssoUrl: string;
  /** The drill's offer and group, with room for everyone. */
  offer: { offerId: string; groupId: string };
  staffToken: () => Promise<string>;
  providerToken: () => Promise<string>;
}

/** A learner's journey as the drill left it. */
export interface DrivenJourney { learner: DrillLearner; caseId: string | null; error: string | null }

const POLL_MS = 1_500;

/** Plays the learner's scenario to its last step; the final stage is checked later, when every journey had time. */
export async function driveLearner(deps: LearnerDeps, learner: DrillLearner): Promise<DrivenJourney> {
  const { scenario } = learner;
  let caseId: string | null = null;
  try {
    const token = await signIn(deps, learner);
    caseId = await startJourney(deps, learner, token);
    if (scenario.staff) {
      await waitForStage(deps, token, caseId, ['awaiting_approval']);
      await staffDecides(deps, caseId, scenario.staff);
    }
    if (scenario.applies) {
      await waitForStage(deps, token, caseId, ['imk_approved']);
      const applicationId = await apply(deps, token, caseId);
      if (scenario.afterApplying === 'enrol' || scenario.afterApplying === 'decline') await providerDecides(deps, applicationId, scenario.afterApplying);
      if (scenario.afterApplying === 'withdraw') await withdraw(deps, token, caseId);
    }
    return { learner, caseId, error: null };
  } catch (err) {
    return { learner, caseId, error: (err as Error).message };
  }
}

/** The sign-on round trip a browser makes: our login redirect, the stub's form, our callback setting the session. */
async function signIn(deps: LearnerDeps, learner: DrillLearner): Promise<string> {
  const { call } = deps;
  return until(`sign-in of learner ${learner.index}`, async () => {
    const login = await call('GET', '/auth/sso/login?next=/learner', { html: true });
    if (login.status !== 302) return login;
    const authorize = new URL(login.headers.get('location')!);
    const ssoCookie = cookieOf(login, 'ila_sso');
    const form = new URLSearchParams({ ...Object.fromEntries(authorize.searchParams), personCode: learner.person.personCode });
    const sso = await fetch(`${deps.ssoUrl}/authorize`, { method: 'POST', body: form, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    await sso.body?.cancel();
    const callback = new URL(sso.headers.get('location') ?? '/', 'http://x');
    const back = await call('GET', `${callback.pathname}${callback.search}`, { html: true, cookie: `ila_sso=${ssoCookie}` });
    return back;
  }, (answer) => (answer.status === 302 ? cookieOf(answer, 'ila_session') ?? undefined : undefined));
}

function cookieOf(answer: DrillAnswer, name: string): string | null {
  for (const header of answer.headers.getSetCookie()) {
    const match = new RegExp(`^${name}=([^;]*)`).exec(header);
    if (match && match[1]) return match[1];
  }
  return null;
}

/** Registers for the programme; the same request id on every attempt, so a lost answer starts nothing twice. */
async function startJourney(deps: LearnerDeps, learner: DrillLearner, token: string): Promise<string> {
  const requestId = randomUUID();
  let counted = false;
  return until(`journey start of learner ${learner.index}`, async () => {
    if (!counted) {
      deps.phases.current.journeysStarted += 1;
      counted = true;
    }
    return deps.call('POST', '/api/learner/journeys', {
      token,
      json: {
        requestId, email: learner.email, language: 'lv', programme: learner.scenario.programme, acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION,
      },
    });
  }, (answer) => {
    if (answer.status === 201 || answer.status === 202) return (answer.json as { caseId: string }).caseId;
    const error = (answer.json as { error?: { code: string; details: { caseId?: string }[] } } | undefined)?.error;
    if (answer.status === 409 && error?.code === 'journey_already_open') return error.details[0]?.caseId;
    return undefined;
  });
}

/** The journey's stage as the learner's API shows it. */
export async function stageOf(deps: Pick<LearnerDeps, 'call'>, token: string, caseId: string): Promise<string | null> {
  const answer = await deps.call('GET', `/api/learner/journeys/${caseId}`, { token });
  return answer.status === 200 ? (answer.json as { stage: string }).stage : null;
}

async function waitForStage(deps: LearnerDeps, token: string, caseId: string, stages: string[], timeoutMs = 8 * 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stage = await stageOf(deps, token, caseId);
    if (stage && stages.includes(stage)) return stage;
    if (Date.now() > deadline) throw new Error(`case ${caseId} did not reach ${stages.join(' or ')} within ${timeoutMs / 1000} s (stage ${stage})`);
    await sleep(POLL_MS);
  }
}

/** Agency staff find the approval task in the inbox and decide it. */
async function staffDecides(deps: LearnerDeps, caseId: string, decision: 'approve' | 'reject'): Promise<void> {
  const taskId = await until(`inbox task of case ${caseId}`, async () => {
    const token = await deps.staffToken();
    for (let page = 1; ; page += 1) {
      const answer = await deps.call('GET', `/api/staff/tasks?type=approve-imk&programme=MN&page=${page}`, { token });
      if (answer.status !== 200) return answer;
      const { tasks, total, pageSize } = answer.json as { tasks: { id: string; caseId: string }[]; total: number; pageSize: number };
      const task = tasks.find((t) => t.caseId === caseId);
      // Not listed yet (the task row is written as the stage changes): a 425 asks `until` to look again.
      if (task) return { ...answer, json: task };
      if (page * pageSize >= total) return { ...answer, status: 425 };
    }
  }, (answer) => (answer.status === 200 ? (answer.json as { id: string }).id : undefined));
  await until(`staff decision on case ${caseId}`, async () => deps.call('POST', `/api/staff/tasks/${taskId}/decision`, {
    token: await deps.staffToken(),
    json: { decision, comment: decision === 'reject' ? 'Fault drill: the employment certificate is missing.' : 'Fault drill: approved.' },
  }), decided);
}

/**
 * Whether a decision went through: 200, or 409 already_decided, since our own earlier attempt may have won while
 * its answer was lost. Anything else is tried again.
 */
function decided(answer: { status: number; json: unknown }): true | undefined {
  if (answer.status === 200) return true;
  if (answer.status === 409 && (answer.json as { error?: { code: string } })?.error?.code === 'already_decided') return true;
  return undefined;
}

/** Applies for the drill's offer; a lost answer is recognised by the application the journey then shows. */
async function apply(deps: LearnerDeps, token: string, caseId: string): Promise<string> {
  const requestId = randomUUID();
  return until(`application of case ${caseId}`, async () => {
    const study = await deps.call('GET', `/api/learner/journeys/${caseId}/study`, { token });
    const current = (study.json as { application?: { applicationId: string; state: string } | null } | undefined)?.application;
    if (study.status === 200 && current?.state === 'applied') return { ...study, status: 201, json: { applicationId: current.applicationId } };
    return deps.call('POST', `/api/learner/journeys/${caseId}/applications`, { token, json: { requestId, ...deps.offer } });
  }, (answer) => (answer.status === 201 ? (answer.json as { applicationId: string }).applicationId : undefined));
}

/** The provider enrols the applicant or declines. */
async function providerDecides(deps: LearnerDeps, applicationId: string, decision: 'enrol' | 'decline'): Promise<void> {
  await until(`provider's decision on application ${applicationId}`, async () => deps.call('POST', `/api/provider/applications/${applicationId}/decision`, {
    token: await deps.providerToken(),
    json: decision === 'enrol' ? { decision } : { decision, reason: 'Fault drill: the group is meant for beginners.' },
  }), decided);
}

/** The learner withdraws the open application. */
async function withdraw(deps: LearnerDeps, token: string, caseId: string): Promise<void> {
  const requestId = randomUUID();
  await until(`withdrawal of case ${caseId}`, async () => {
    const stage = await stageOf(deps, token, caseId);
    if (stage === 'awaiting_application') return { status: 200, kind: 'ok', headers: new Headers(), text: '', json: null, ms: 0 };
    return deps.call('POST', `/api/learner/journeys/${caseId}/withdrawal`, { token, json: { requestId, reason: 'Fault drill: changed my mind.' } });
  }, (answer) => (answer.status === 200 ? true : undefined));
}
