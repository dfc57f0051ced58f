import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { checkApplication, type ApplicationRefusal, type ApplicationState, type ApplyOutcome, type OverCapRule } from '../domain/applications';
import type { ProgrammeRules } from '../domain/programmes';
import { queuePriority, type SocialStatusRecord } from '../domain/social-status';
import type { Actor } from '../domain/journey';
import { isUuid } from '../domain/uuid';
import { windowFor } from '../lib/programme-versions';
import { acceptPlaceOffer, expireOverdueOffers, handOnPlace, lockProgramme, sweepPlaceOffers } from '../lib/waitlist';

/** What the learner asked for. */
export interface SubmitApplicationInput { caseId: string; attempt: number; offerId: string; groupId: string; actor: Actor }

/** The offer and group as e-mails and the journey's state show them. */
export interface OfferSummary {
  offerId: string; groupId: string; titleLv: string; titleEn: string; place: string; startsOn: string; endsOn: string;
  costCents: number; groupFormationDeadline: string;
}

/** What happened to an application, told to the learner at once. */
export interface SubmitApplicationResult {
  outcome: ApplyOutcome;
  /** Null when nothing was recorded (e.g. no such offer). */
  applicationId: string | null;
  reason: ApplicationRefusal | null;
  earmarkedCents: number;
  learnerPaysCents: number;
  /** The case's balance after this application. */
  balanceCents: number;
  offer: OfferSummary | null;
}

/** Input of decideEnrolment. */
export interface EnrolInput { applicationId: string; groupId?: string }

/** Input of releaseApplication: an application that ends before study, giving back its earmark and place. */
export interface ReleaseInput { applicationId: string; state: Extract<ApplicationState, 'declined' | 'timed_out' | 'withdrawn'>; reason: string | null }

/** Input of finishStudy: study ended; the earmark is spent. */
export interface FinishStudyInput { applicationId: string; state: Extract<ApplicationState, 'completed' | 'dropped_out'>; reason: string | null }

/** A stable application id for a case's n-th application attempt (UUID v5 shape over SHA-1). */
export function applicationIdFor(caseId: string, attempt: number): string {
  const hash = createHash('sha1').update(`learner-journey-application:${caseId}:${attempt}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

interface OfferRow {
  id: string; programme: string; titleLv: string; titleEn: string; costCents: number; copayPercent: number | null;
  published: boolean; applicationsOpenAt: Date; applicationsCloseAt: Date; groupFormationDeadline: Date;
}
interface GroupRow { id: string; offerId: string; place: string; startsOn: string; endsOn: string; capacity: number; enrolled: number }
interface ApplicationRow {
  id: string; caseId: string; offerId: string; groupId: string; state: ApplicationState; costCents: number;
  earmarkedCents: number; learnerPaysCents: number; holdsPlace: boolean; reason: string | null; windowId: string | null;
}


/** Activities of applications and enrolment: the cap, the earmark and group capacity, each in one transaction. */
export function createApplicationActivities({ db }: { db: Knex }) {
  async function summary(trx: Knex | Knex.Transaction, offerId: string, groupId: string): Promise<OfferSummary | null> {
    const offer = await trx('offers').where({ id: offerId }).first<OfferRow | undefined>();
    const group = await trx('offerGroups').where({ id: groupId }).first<GroupRow | undefined>();
    if (!offer || !group) return null;
    return {
      offerId, groupId, titleLv: offer.titleLv, titleEn: offer.titleEn, place: group.place,
      startsOn: dateOnly(group.startsOn), endsOn: dateOnly(group.endsOn), costCents: offer.costCents,
      groupFormationDeadline: offer.groupFormationDeadline.toISOString(),
    };
  }

  async function caseBalance(trx: Knex | Knex.Transaction, caseId: string): Promise<number> {
    const row = await trx('cases').where({ id: caseId }).first<{ balanceCents: number }>('balanceCents');
    return row.balanceCents;
  }

  return {
    /**
     * Judges and records an application in one transaction: rules (window, offer, group, balance), then the
     * programme's cap by one atomic UPDATE (over the cap: wait-listed or refused per the programme), then the
     * application row and the earmark from the case's balance. A retry finds the row of this attempt and
     * answers the same without counting or earmarking twice.
     */
    async submitApplication(input: SubmitApplicationInput): Promise<SubmitApplicationResult> {
      const id = applicationIdFor(input.caseId, input.attempt);
      return db.transaction(async (trx) => {
        // Serialises this case's applications (balance) without blocking other cases.
        const theCase = await trx('cases').where({ id: input.caseId }).forUpdate()
          .first<{ programme: string; programmeVersion: number | null; balanceCents: number }>('programme', 'programmeVersion', 'balanceCents');
        if (!theCase) throw new Error(`case ${input.caseId} not found`);
        const existing = await trx('applications').where({ id }).first<ApplicationRow | undefined>();
        if (existing) return answerFor(existing, theCase.balanceCents, await summary(trx, existing.offerId, existing.groupId));

        const refuse = (reason: ApplicationRefusal, offer: OfferSummary | null = null): SubmitApplicationResult => ({
          outcome: 'refused', applicationId: null, reason, earmarkedCents: 0, learnerPaysCents: 0, balanceCents: theCase.balanceCents, offer,
        });
        if (!isUuid(input.offerId)) return refuse('offer_not_found');
        if (!isUuid(input.groupId)) return refuse('group_not_in_offer');
        const programme = await trx('programmes').where({ code: theCase.programme })
          .first<{
            funding: ProgrammeRules['funding']; applicationsOpenAt: Date | null; applicationsCloseAt: Date | null; overCap: OverCapRule;
            socialStatusRule: ProgrammeRules['socialStatusRule']; currentVersion: number | null; copayPercent: number | null;
          }>();
        // Money follows the version the journey started with, so an edit of the programme changes no running journey.
        const kept = theCase.programmeVersion === null ? undefined : await trx('programmeVersions')
          .where({ programme: theCase.programme, version: theCase.programmeVersion })
          .first<{ funding: ProgrammeRules['funding']; copayPercent: number | null } | undefined>('funding', 'copayPercent');
        const funding = kept?.funding ?? programme.funding;
        const programmeCopayPercent = kept ? kept.copayPercent : programme.copayPercent;
        const now = new Date();
        // The application window now (or the next / last one). A programme the agency manages (it has versions) takes
        // applications only in a window; one from before (no versions, e.g. a test's row) keeps its own dates.
        const window = await windowFor(trx, theCase.programme, now);
        if (!window && programme.currentVersion !== null) return refuse('programme_window_not_open');
        const offer = await trx('offers').where({ id: input.offerId }).first<OfferRow | undefined>();
        const group = await trx('offerGroups').where({ id: input.groupId }).first<GroupRow | undefined>();
        const check = checkApplication({
          now, caseProgramme: theCase.programme, funding, balanceCents: theCase.balanceCents,
          programme: window
            ? { applicationsOpenAt: window.opensAt, applicationsCloseAt: window.closesAt }
            : { applicationsOpenAt: programme.applicationsOpenAt, applicationsCloseAt: programme.applicationsCloseAt },
          // The learner's share: the offer's own where it sets one, else the programme's (the version kept).
          offer: offer ? { ...offer, copayPercent: offer.copayPercent ?? programmeCopayPercent } : null,
          group: group ? { offerMatches: group.offerId === input.offerId, capacity: group.capacity, enrolled: group.enrolled } : null,
        });
        const offerSummary = offer && group && group.offerId === offer.id ? await summary(trx, offer.id, group.id) : null;
        // Nothing to count or hold: the learner is told and may choose again.
        if (!check.ok) return refuse(check.reason, offerSummary);

        const base = {
          id, caseId: input.caseId, attempt: input.attempt, offerId: input.offerId, groupId: input.groupId,
          costCents: offer!.costCents, actorRole: input.actor.role, actorId: input.actor.id, channel: input.actor.channel,
          windowId: window?.id ?? null as string | null,
        };
        // The caps. Everything that changes a programme's places (applications, releases, the wait-list, an
        // administrator's edits) takes lockProgramme first: its windows, then its row, always in that order. First
        // the wait-list: overdue place offers pass on, and a learner holding an open offer takes the place it kept
        // counted (in the window it came from). Otherwise the window's cap, then the programme's over all windows.
        await lockProgramme(trx, theCase.programme);
        await expireOverdueOffers(trx, theCase.programme, now);
        const offered = await acceptPlaceOffer(trx, input.caseId, now);
        let counted = offered !== null;
        if (offered) {
          base.windowId = offered.windowId;
        } else {
          const windowCounted = !window || (await trx('programmeWindows').where({ id: window.id })
            .where((q) => q.whereNull('cap').orWhereRaw('applications_received < cap'))
            .update({ applicationsReceived: trx.raw('applications_received + 1') }).returning(['id'])).length > 0;
          counted = windowCounted && (await trx('programmes')
            .where({ code: theCase.programme })
            .where((q) => q.whereNull('applicationCap').orWhereRaw('applications_received < application_cap'))
            .update({ applicationsReceived: trx.raw('applications_received + 1') })
            .returning(['applicationsReceived'])).length > 0;
          // Counted by the window but the programme is full: the window gives its place back.
          if (window && windowCounted && !counted) await trx('programmeWindows').where({ id: window.id }).decrement('applicationsReceived', 1);
        }
        if (!counted) {
          const state = (window?.overCap ?? programme.overCap) === 'refuse' ? 'refused' : 'waitlisted';
          const waitlistPriority = state === 'waitlisted' ? queuePriority(await socialStatusOf(trx, input.caseId), programme.socialStatusRule) : 0;
          await trx('applications').insert({ ...base, state, reason: 'cap_reached', waitlistPriority });
          return {
            outcome: state, applicationId: id, reason: 'cap_reached', earmarkedCents: 0, learnerPaysCents: 0,
            balanceCents: theCase.balanceCents, offer: offerSummary,
          };
        }
        const { fromAccountCents, learnerPaysCents } = check.share;
        // The CHECK on cases.balance_cents is the last guard; checkApplication already compared under the row lock.
        await trx('cases').where({ id: input.caseId })
          .update({ balanceCents: trx.raw('balance_cents - ?', [fromAccountCents]), updatedAt: new Date() });
        await trx('applications').insert({
          ...base, state: 'applied', earmarkedCents: fromAccountCents, learnerPaysCents, holdsPlace: true,
        });
        return {
          outcome: 'applied', applicationId: id, reason: null, earmarkedCents: fromAccountCents, learnerPaysCents,
          balanceCents: theCase.balanceCents - fromAccountCents, offer: offerSummary,
        };
      });
    },

    /**
     * Enrols an applied learner into their group (or another group of the same offer): the group's count goes up
     * by one atomic conditional UPDATE, so a full group refuses. Enrolling twice is a no-op.
     */
    async decideEnrolment(input: EnrolInput): Promise<{ enrolled: true; offer: OfferSummary } | { enrolled: false; reason: 'group_full' | 'group_not_in_offer' | 'not_applied' }> {
      return db.transaction(async (trx) => {
        const app = await trx('applications').where({ id: input.applicationId }).forUpdate().first<ApplicationRow | undefined>();
        if (!app) throw new Error(`application ${input.applicationId} not found`);
        if (app.state === 'enrolled') return { enrolled: true, offer: (await summary(trx, app.offerId, app.groupId))! };
        if (app.state !== 'applied') return { enrolled: false, reason: 'not_applied' };
        const groupId = input.groupId ?? app.groupId;
        if (!isUuid(groupId)) return { enrolled: false, reason: 'group_not_in_offer' };
        const group = await trx('offerGroups').where({ id: groupId }).first<GroupRow | undefined>();
        if (!group || group.offerId !== app.offerId) return { enrolled: false, reason: 'group_not_in_offer' };
        const taken = await trx('offerGroups').where({ id: groupId }).whereRaw('enrolled < capacity')
          .update({ enrolled: trx.raw('enrolled + 1') }).returning(['enrolled']);
        if (taken.length === 0) return { enrolled: false, reason: 'group_full' };
        const now = new Date();
        await trx('applications').where({ id: app.id }).update({ state: 'enrolled', groupId, enrolledAt: now, updatedAt: now });
        return { enrolled: true, offer: (await summary(trx, app.offerId, groupId))! };
      });
    },

    /**
     * Ends an application before study: the earmark goes back to the case's balance and its capped place back to
     * the programme. Only an `applied` application changes, so a retry releases nothing twice.
     */
    async releaseApplication(input: ReleaseInput): Promise<{ releasedCents: number; balanceCents: number }> {
      return db.transaction(async (trx) => {
        const app = await trx('applications').where({ id: input.applicationId }).forUpdate().first<ApplicationRow | undefined>();
        if (!app) throw new Error(`application ${input.applicationId} not found`);
        if (app.state !== 'applied') return { releasedCents: 0, balanceCents: await caseBalance(trx, app.caseId) };
        await releaseHolds(trx, app, input);
        return { releasedCents: app.earmarkedCents, balanceCents: await caseBalance(trx, app.caseId) };
      });
    },

    /** Expires overdue place offers of every programme and passes each place on (the wait-list sweep's step). */
    async sweepPlaceOffers(_input: Record<string, never>): Promise<{ expired: number }> {
      return { expired: await sweepPlaceOffers(db) };
    },

    /** Ends study (completed or dropped out): the earmark is spent, the place in the group stays counted. */
    async finishStudy(input: FinishStudyInput): Promise<{ spentCents: number }> {
      return db.transaction(async (trx) => {
        const app = await trx('applications').where({ id: input.applicationId }).forUpdate().first<ApplicationRow | undefined>();
        if (!app) throw new Error(`application ${input.applicationId} not found`);
        if (app.state !== 'enrolled') return { spentCents: 0 };
        const now = new Date();
        await trx('applications').where({ id: app.id }).update({
          state: input.state, reason: input.reason, spentCents: app.earmarkedCents, earmarkedCents: 0, endedAt: now, updatedAt: now,
        });
        return { spentCents: app.earmarkedCents };
      });
    },
  };
}

/**
 * Ends an open application (applied, or enrolled when the agency stops the journey) and gives back what it holds:
 * the earmark to the case's balance, its capped place to the programme and, once enrolled, its place in the group.
 * The caller holds the application's row lock.
 */
export async function releaseHolds(
  trx: Knex.Transaction, app: Pick<ApplicationRow, 'id' | 'caseId' | 'groupId' | 'state' | 'earmarkedCents' | 'holdsPlace'> & { windowId?: string | null },
  end: { state: ReleaseInput['state']; reason: string | null },
): Promise<void> {
  const now = new Date();
  await trx('applications').where({ id: app.id })
    .update({ state: end.state, reason: end.reason, earmarkedCents: 0, holdsPlace: false, endedAt: now, updatedAt: now });
  if (app.earmarkedCents > 0) {
    await trx('cases').where({ id: app.caseId })
      .update({ balanceCents: trx.raw('balance_cents + ?', [app.earmarkedCents]), updatedAt: now });
  }
  if (app.holdsPlace) {
    // The freed place goes to the wait-list first, counted on in its window (lib/waitlist.ts); only when nobody
    // waits do the window's and the programme's counts go down.
    const theCase = await trx('cases').where({ id: app.caseId }).first<{ programme: string }>('programme');
    await lockProgramme(trx, theCase.programme);
    await expireOverdueOffers(trx, theCase.programme, now);
    await handOnPlace(trx, theCase.programme, now, app.windowId ?? null);
  }
  if (app.state === 'enrolled') {
    await trx('offerGroups').where({ id: app.groupId }).where('enrolled', '>', 0).update({ enrolled: trx.raw('enrolled - 1') });
  }
}

/**
 * The SOPA status the case's eligibility check recorded, if any: in a programme whose social-status rule is
 * "priority" it sets the wait-list priority (domain/social-status.ts queuePriority), so poorer households are
 * offered a freed place first.
 */
async function socialStatusOf(trx: Knex.Transaction, caseId: string): Promise<SocialStatusRecord['status'] | null> {
  const row = await trx('caseEvents').where({ caseId, step: 'eligibility' })
    .first<{ status: SocialStatusRecord['status'] | null } | undefined>(trx.raw("details #>> '{facts,socialStatus}' as status"));
  return row?.status ?? null;
}

function answerFor(row: ApplicationRow, balanceCents: number, offer: OfferSummary | null): SubmitApplicationResult {
  const outcome: ApplyOutcome = row.state === 'waitlisted' ? 'waitlisted' : row.state === 'refused' ? 'refused' : 'applied';
  return {
    outcome, applicationId: row.id, reason: (outcome === 'applied' ? null : row.reason) as ApplicationRefusal | null,
    earmarkedCents: row.earmarkedCents, learnerPaysCents: row.learnerPaysCents, balanceCents, offer,
  };
}

// pg returns DATE columns as Date objects at local midnight; keep the calendar day.
function dateOnly(value: string | Date): string {
  if (typeof value === 'string') return value.slice(0, 10);
  const y = value.getFullYear();
  const m = String(value.getMonth() + 1).padStart(2, '0');
  const d = String(value.getDate()).padStart(2, '0');
  return `${y}-${m}-${d}`;
}
