import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { insertCall, type CallPhases } from '../../dev/seed-calls';

/**
 * A call whose phases are counted from now, so workflow timers fire during a test: the submission window closes
 * `submissionMs` from now, and each later phase follows `stepMs` after the one before.
 */
export async function createCallClosingIn(db: Knex, submissionMs: number, stepMs = 2_000): Promise<{ callId: string; phases: CallPhases }> {
  const now = Date.now();
  const at = (n: number) => new Date(now + submissionMs + n * stepMs);
  const phases: CallPhases = {
    submissionOpensAt: new Date(now - 86_400_000), submissionClosesAt: at(0), evaluationEndsAt: at(1),
    publicationAt: at(2), applicationsOpenAt: at(2), applicationsCloseAt: at(30), groupFormationAt: at(40), teachingEndsAt: at(50),
  };
  const callId = await insertCall(db, `TEST-${randomUUID().slice(0, 8)}`, phases);
  return { callId, phases };
}
