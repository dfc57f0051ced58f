import { costPerLearnerCents } from './offer-cost';
import { formatEuro } from './money';
import type { OfferProblem } from './offers';

/**
 * The automated checks run when a provider submits an offer (seed 001, "common mistakes the system should catch"):
 * empty fields, places not registered in VIIS, hours not matching the licensed curriculum, DigComp level and
 * digital share outside the call's rules, missing documents, too many offers in the call, an unknown coefficient
 * and a cost that does not follow the formula. Pure: the activity gathers the facts, this judges them.
 */

/** The offer's fields the checks read (the offers row, camelCase). */
export interface OfferForChecks {
  titleLv: string | null;
  titleEn: string | null;
  descriptionLv: string | null;
  prerequisitesLv: string | null;
  competence: string | null;
  language: string | null;
  licenceNumber: string | null;
  coefficientCode: string | null;
  hoursTheory: number | null;
  hoursPractice: number | null;
  places: { address: string }[] | null;
  digcompLevel: number | null;
  digitalSharePercent: number | null;
  statedCostCents: number | null;
}

/** The call's rules the checks read. */
export interface CallRules {
  competences: string[];
  digcompMin: number | null;
  digcompMax: number | null;
  minDigitalSharePercent: number;
  maxOffersPerProvider: number;
  requiredDocuments: string[];
}

/** What the activity found out about the offer from VIIS and the database. */
export interface OfferFacts {
  /** The provider's institution in VIIS, or null when VIIS does not know it (or the provider has no number). */
  institution: { places: string[]; licences: { number: string; hours: number }[] } | null;
  /** Kinds of the documents attached to this offer. */
  attachedDocuments: string[];
  /** The provider's other offers in this call that are submitted or further along (this one excluded). */
  otherOffersInCall: number;
  /** The coefficient of the offer's code in thousandths, or null when the code is not in the table. */
  coefficientThousandths: number | null;
}

/** The cost per learner by the formula, or null while the hours or the coefficient are missing. */
export function computedCostCents(offer: Pick<OfferForChecks, 'hoursTheory' | 'hoursPractice'>, coefficientThousandths: number | null): number | null {
  if (coefficientThousandths === null || offer.hoursTheory === null || offer.hoursPractice === null) return null;
  const hours = offer.hoursTheory + offer.hoursPractice;
  return Number.isInteger(hours) && hours > 0 ? costPerLearnerCents(coefficientThousandths, hours) : null;
}

/** Required fields with their names in both languages, as the offer form labels them. */
const REQUIRED: ReadonlyArray<[keyof OfferForChecks, string, string]> = [
  ['titleLv', 'nosaukums latviski', 'title in Latvian'],
  ['titleEn', 'nosaukums angliski', 'title in English'],
  ['descriptionLv', 'apraksts latviski', 'description in Latvian'],
  ['prerequisitesLv', 'priekšzināšanas latviski', 'prerequisites in Latvian'],
  ['competence', 'kompetence', 'competence'],
  ['language', 'mācību valoda', 'language of instruction'],
  ['licenceNumber', 'licences numurs', 'licence number'],
  ['coefficientCode', 'izmaksu koeficients', 'cost coefficient'],
  ['hoursTheory', 'teorijas stundas', 'theory hours'],
  ['hoursPractice', 'prakses stundas', 'practice hours'],
  ['places', 'īstenošanas vietas', 'places of delivery'],
];

function problem(field: string, code: string, lv: string, en: string): OfferProblem {
  return { field, code, message: { lv, en } };
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === 'string') return value.trim() === '';
  if (Array.isArray(value)) return value.length === 0;
  return false;
}

/** Same address as VIIS spells it, ignoring case and runs of spaces (people retype addresses). */
export function sameAddress(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLocaleLowerCase('lv');
  return norm(a) === norm(b);
}

/** Runs every automated check; each problem names the offer form's field and says what is wrong in lv and en. */
export function checkOffer(offer: OfferForChecks, call: CallRules, facts: OfferFacts): OfferProblem[] {
  const problems: OfferProblem[] = [];

  for (const [field, lv, en] of REQUIRED) {
    if (isEmpty(offer[field])) problems.push(problem(field, 'required', `Nav aizpildīts lauks "${lv}".`, `The field "${en}" is empty.`));
  }

  if (!isEmpty(offer.competence) && !call.competences.includes(offer.competence!)) {
    problems.push(problem('competence', 'competence_not_in_call',
      `Kompetence "${offer.competence}" nav starp atlases kompetencēm (${call.competences.join(', ')}).`,
      `The competence "${offer.competence}" is not one the call funds (${call.competences.join(', ')}).`));
  }

  // Places and the licence are judged against VIIS; without the institution neither can be confirmed.
  if (facts.institution === null) {
    problems.push(problem('places', 'institution_not_in_viis',
      'Izglītības iestāde nav atrasta VIIS, tāpēc īstenošanas vietas un licenci nevar pārbaudīt.',
      'The education institution is not in VIIS, so the places of delivery and the licence cannot be checked.'));
  } else {
    (offer.places ?? []).forEach((place, i) => {
      if (!facts.institution!.places.some((registered) => sameAddress(registered, place.address ?? ''))) {
        problems.push(problem(`places[${i}]`, 'place_not_in_viis',
          `Īstenošanas vieta "${place.address}" nav reģistrēta VIIS šai iestādei.`,
          `The place of delivery "${place.address}" is not registered in VIIS for this institution.`));
      }
    });
    if (!isEmpty(offer.licenceNumber)) {
      const licence = facts.institution.licences.find((l) => l.number.trim() === offer.licenceNumber!.trim());
      if (!licence) {
        problems.push(problem('licenceNumber', 'licence_not_found',
          `Licence "${offer.licenceNumber}" nav atrasta VIIS šai iestādei.`,
          `The licence "${offer.licenceNumber}" is not found in VIIS for this institution.`));
      } else if (offer.hoursTheory !== null && offer.hoursPractice !== null && offer.hoursTheory + offer.hoursPractice !== licence.hours) {
        const total = offer.hoursTheory + offer.hoursPractice;
        problems.push(problem('hoursPractice', 'hours_mismatch',
          `Teorijas un prakses stundu summa (${offer.hoursTheory} + ${offer.hoursPractice} = ${total}) nesakrīt ar licencētās programmas stundām (${licence.hours}).`,
          `Theory and practice hours (${offer.hoursTheory} + ${offer.hoursPractice} = ${total}) do not match the licensed curriculum's ${licence.hours} hours.`));
      }
    }
  }

  if (call.digcompMin !== null || call.digcompMax !== null) {
    // A call may set one bound only ("level 4 and above"); the other is the framework's own end (1 or 8).
    const min = call.digcompMin ?? 1;
    const max = call.digcompMax ?? 8;
    const level = offer.digcompLevel;
    if (level === null || level < min || level > max) {
      problems.push(problem('digcompLevel', 'digcomp_out_of_range',
        `DigComp līmenim jābūt no ${min} līdz ${max}${level === null ? ' (nav norādīts)' : ` (norādīts ${level})`}.`,
        `The DigComp level must be ${min} to ${max}${level === null ? ' (none given)' : ` (given ${level})`}.`));
    }
  }

  const share = offer.digitalSharePercent;
  if (share === null || share < call.minDigitalSharePercent) {
    problems.push(problem('digitalSharePercent', 'digital_share_too_low',
      `Digitālo prasmju īpatsvaram jābūt vismaz ${call.minDigitalSharePercent}%${share === null ? ' (nav norādīts)' : ` (norādīts ${share}%)`}.`,
      `The digital skills share must be at least ${call.minDigitalSharePercent}%${share === null ? ' (none given)' : ` (given ${share}%)`}.`));
  }

  for (const kind of call.requiredDocuments) {
    if (!facts.attachedDocuments.includes(kind)) {
      problems.push(problem(`documents.${kind}`, 'document_missing',
        `Nav pievienots obligātais dokuments "${kind}".`, `The mandatory document "${kind}" is not attached.`));
    }
  }

  if (facts.otherOffersInCall >= call.maxOffersPerProvider) {
    problems.push(problem('callId', 'too_many_offers',
      `Vienā atlasē var iesniegt ne vairāk kā ${call.maxOffersPerProvider} programmas; jau iesniegtas ${facts.otherOffersInCall}.`,
      `A provider may submit at most ${call.maxOffersPerProvider} programmes per call; ${facts.otherOffersInCall} are already submitted.`));
  }

  if (!isEmpty(offer.coefficientCode) && facts.coefficientThousandths === null) {
    problems.push(problem('coefficientCode', 'coefficient_unknown',
      `Izmaksu koeficients "${offer.coefficientCode}" nav koeficientu tabulā.`,
      `The cost coefficient "${offer.coefficientCode}" is not in the coefficient table.`));
  }
  const costCents = computedCostCents(offer, facts.coefficientThousandths);
  if (costCents !== null) {
    if (offer.statedCostCents !== null && offer.statedCostCents !== costCents) {
      problems.push(problem('statedCostCents', 'cost_mismatch',
        `Norādītās izmaksas vienam izglītojamajam (${formatEuro(offer.statedCostCents, 'lv')}) nesakrīt ar aprēķinātajām (${formatEuro(costCents, 'lv')}).`,
        `The stated cost per learner (${formatEuro(offer.statedCostCents, 'en')}) does not match the calculated cost (${formatEuro(costCents, 'en')}).`));
    }
  }

  return problems;
}
