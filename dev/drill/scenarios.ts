/**
 * The fault drill's learners: who each one is and what each one does, so that every journey has one stage it
 * must end at whatever faults happen on the way, and a known list of e-mails it must get (one each).
 */
import type { SeedPerson } from '../seed-people';

/** What a drill journey does, named after where it ends. */
export type ScenarioName =
  | 'under-age' | 'deceased' | 'awaiting-approval' | 'staff-rejects' | 'staff-approves' | 'approved'
  | 'applied' | 'enrolled' | 'declined' | 'withdrawn';

/** One scenario: the programme, the person's facts, the steps the drill takes, and the end it expects. */
export interface Scenario {
  name: ScenarioName;
  /** IMK is approved automatically when every check passes; MN (training for the employed) always by staff. */
  programme: 'IMK' | 'MN';
  /** A birth date that makes the person 17 on any date of 2026-2027, or an adult's. */
  minor: boolean;
  deceased: boolean;
  /** What agency staff decide on the approval task (MN only); undefined: nobody decides. */
  staff?: 'approve' | 'reject';
  /** Whether the learner applies for the drill's offer once the account is approved. */
  applies: boolean;
  /** What follows the application: the provider enrols or declines, the learner withdraws, or nothing. */
  afterApplying?: 'enrol' | 'decline' | 'withdraw';
  /** The journey's stage when the drill is over. */
  expectedStage: string;
  /** The e-mail steps (email_outbox.step) the learner gets, each exactly once. */
  emails: readonly string[];
}

/** Every scenario; journey i plays SCENARIOS[i % SCENARIOS.length], so any count of 10 or more covers them all. */
export const SCENARIOS: readonly Scenario[] = [
  { name: 'under-age', programme: 'IMK', minor: true, deceased: false, applies: false, expectedStage: 'not_eligible', emails: ['not-eligible'] },
  { name: 'deceased', programme: 'IMK', minor: false, deceased: true, applies: false, expectedStage: 'not_eligible', emails: ['not-eligible'] },
  { name: 'awaiting-approval', programme: 'MN', minor: false, deceased: false, applies: false, expectedStage: 'awaiting_approval', emails: [] },
  { name: 'staff-rejects', programme: 'MN', minor: false, deceased: false, staff: 'reject', applies: false, expectedStage: 'imk_rejected', emails: ['imk-rejected'] },
  { name: 'staff-approves', programme: 'MN', minor: false, deceased: false, staff: 'approve', applies: false, expectedStage: 'imk_approved', emails: ['imk-approved'] },
  { name: 'approved', programme: 'IMK', minor: false, deceased: false, applies: false, expectedStage: 'imk_approved', emails: ['imk-approved'] },
  { name: 'applied', programme: 'IMK', minor: false, deceased: false, applies: true, expectedStage: 'applied', emails: ['imk-approved', 'application-received-1'] },
  {
    name: 'enrolled', programme: 'IMK', minor: false, deceased: false, applies: true, afterApplying: 'enrol', expectedStage: 'studying',
    emails: ['imk-approved', 'application-received-1', 'enrolled-1'],
  },
  {
    name: 'declined', programme: 'IMK', minor: false, deceased: false, applies: true, afterApplying: 'decline', expectedStage: 'awaiting_application',
    emails: ['imk-approved', 'application-received-1', 'enrolment-declined-1'],
  },
  {
    name: 'withdrawn', programme: 'IMK', minor: false, deceased: false, applies: true, afterApplying: 'withdraw', expectedStage: 'awaiting_application',
    emails: ['imk-approved', 'application-received-1'],
  },
];

/** One learner of the drill: a person the register and sign-on stubs know, and the scenario they play. */
export interface DrillLearner {
  index: number;
  person: SeedPerson;
  email: string;
  scenario: Scenario;
  /** The SMTP server refuses this learner's address for good: their e-mails end `rejected`, none arrives. */
  refused: boolean;
}

/**
 * A person code of the new format (32…, no birth date in it), unique per index and recognisably the drill's
 * (3277…), so drill people never collide with the demo people.
 */
export function drillPersonCode(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 99_999) throw new RangeError('drill person index must be 0-99999');
  return `327700-${String(index).padStart(5, '0')}`;
}

/**
 * The drill's learners 0..count-1, the same every run, then one more whose address the SMTP server refuses (the
 * SMTP fault starts that one): an approved account whose e-mail cannot be delivered.
 */
export function drillLearners(count: number): DrillLearner[] {
  return Array.from({ length: count + 1 }, (_, index) => {
    const refused = index === count;
    const scenario = refused ? SCENARIOS.find((s) => s.name === 'approved')! : SCENARIOS[index % SCENARIOS.length]!;
    const person: SeedPerson = {
      personCode: drillPersonCode(index),
      firstName: 'Drill',
      lastName: `Learner ${index}`,
      // 17 throughout 2026 and 2027 until the birthday on 31 December; adults are 40.
      birthDate: scenario.minor ? '2009-12-31' : '1986-05-01',
      deceased: scenario.deceased,
      ...(scenario.deceased ? { deceasedDate: '2025-01-10' } : {}),
      address: 'Drill iela 1, Rīga, LV-1001',
      municipality: 'Rīga',
      note: `fault drill: ${scenario.name}`,
    };
    return { index, person, email: refused ? `refused-${index}@drill.test` : `learner-${index}@drill.test`, scenario, refused };
  });
}

/** Counts of journeys per expected stage, for the report. */
export function expectedStageCounts(learners: readonly DrillLearner[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { scenario } of learners) counts[scenario.expectedStage] = (counts[scenario.expectedStage] ?? 0) + 1;
  return counts;
}
