import type { RegisteredCompany } from '../activities/registries/enterprise-register';
import type { ViisInstitution } from '../activities/registries/viis';

// SAMPLE data for the VIIS and Enterprise Register stubs. Every name, number, address and licence here is made up:
// numbers have the real shapes (institutions 10 digits, companies 11) but runs of zeros no real register issues,
// and names and addresses are marked "(paraugs)" (sample). Each institution covers one case offer validation and
// provider registration must tell apart; the constants below name them for tests.

/** An education institution the VIIS stub serves: the VIIS answer plus a hint for people reading the seed. */
export interface SeedInstitution extends ViisInstitution {
  /** Short hint of what the institution is for, e.g. 'accredited, since 2015'. */
  note: string;
}

/** A company the Enterprise Register stub serves: the register's answer plus a hint for people reading the seed. */
export interface SeedCompany extends RegisteredCompany {
  /** Short hint of what the company is for, e.g. 'liquidated'. */
  note: string;
}

/** SAMPLE education-institution registration numbers (10 digits) the VIIS stub knows, by the case each covers. */
export const SAMPLE_INSTITUTIONS = {
  /** The demo provider of dev/seed.ts: accredited, registered since 2015, delivers every group of dev/seed-offers.ts. */
  demo: '3360800001',
  /** Another accredited provider with an active company, teaching in Liepāja and Rīga (for "another provider" tests). */
  second: '3360800002',
  /** Accredited and old enough, but run by a liquidated company (SAMPLE_COMPANIES.liquidated). */
  liquidated: '3360800003',
  /** Accredited, active company, but in the register only since 2024: fewer than the 3 years a call requires. */
  young: '3360800004',
  /** Registered since 2012 with an active company, but not accredited. */
  unaccredited: '3360800005',
  /** A well-formed number VIIS does not know (answers 404). */
  unknown: '3360899999',
} as const;

/** SAMPLE company registration numbers (11 digits) the Enterprise Register stub knows, by the case each covers. */
export const SAMPLE_COMPANIES = {
  /** The demo provider's company: the `registrationNumber` of `demoProvider` in dev/seed.ts; active. */
  demo: '40003000001',
  /** The company of SAMPLE_INSTITUTIONS.second; active. */
  second: '40003000002',
  /** Status 'liquidated'; runs SAMPLE_INSTITUTIONS.liquidated. */
  liquidated: '40003000003',
  /** The company of SAMPLE_INSTITUTIONS.young; active. */
  young: '40003000004',
  /** The company of SAMPLE_INSTITUTIONS.unaccredited; active. */
  unaccredited: '40003000005',
  /** Status 'insolvent'; runs no institution. */
  insolvent: '40003000006',
  /** A well-formed number the register does not know (answers 404). */
  unknown: '40003999999',
} as const;

/** The demo institutions seeded into the VIIS stub (SAMPLE data; see SAMPLE_INSTITUTIONS for what each covers). */
export const seedInstitutions: SeedInstitution[] = [
  {
    registrationNumber: SAMPLE_INSTITUTIONS.demo,
    name: 'Mācību centrs "Digitālās prasmes" (paraugs)',
    companyRegistrationNumber: SAMPLE_COMPANIES.demo,
    accredited: true,
    registeredSince: '2015-09-01',
    // Every `place` of the demo offers' groups (dev/seed-offers.ts), spelled exactly as there, so they validate.
    placesOfDelivery: [
      { address: 'Rīga, Brīvības iela 1 (paraugs)' },
      { address: 'Valmiera, Rīgas iela 10 (paraugs)' },
      { address: 'Tiešsaistē un Rīgā, Lāčplēša iela 5 (paraugs)' },
    ],
    // Programmes and hours match the demo offers, so an hours check against the licence passes.
    licences: [
      { number: 'P-00001 (paraugs)', programme: 'Kiberdrošības tehniķa pamati (paraugs)', hours: 160 },
      { number: 'P-00002 (paraugs)', programme: 'Programmēšanas tehniķis: Python (paraugs)', hours: 120 },
    ],
    note: 'demo provider: accredited, since 2015, all demo places',
  },
  {
    registrationNumber: SAMPLE_INSTITUTIONS.second,
    name: 'Kurzemes digitālo prasmju skola (paraugs)',
    companyRegistrationNumber: SAMPLE_COMPANIES.second,
    accredited: true,
    registeredSince: '2018-02-15',
    placesOfDelivery: [
      { address: 'Liepāja, Graudu iela 20 (paraugs)' },
      { address: 'Rīga, Krišjāņa Barona iela 30 (paraugs)' },
    ],
    licences: [
      { number: 'P-00011 (paraugs)', programme: 'Datorsistēmu tehniķis (paraugs)', hours: 160 },
      { number: 'P-00012 (paraugs)', programme: 'Tīmekļa programmēšana (paraugs)', hours: 120 },
    ],
    note: 'second provider: accredited, since 2018',
  },
  {
    registrationNumber: SAMPLE_INSTITUTIONS.liquidated,
    name: 'Mācību centrs "Vakardiena" (paraugs)',
    companyRegistrationNumber: SAMPLE_COMPANIES.liquidated,
    accredited: true,
    registeredSince: '2010-05-20',
    placesOfDelivery: [{ address: 'Jelgava, Lielā iela 3 (paraugs)' }],
    licences: [
      { number: 'P-00021 (paraugs)', programme: 'Datortīklu administrēšana (paraugs)', hours: 160 },
      { number: 'P-00022 (paraugs)', programme: 'Biroja programmatūra (paraugs)', hours: 80 },
    ],
    note: 'company liquidated',
  },
  {
    registrationNumber: SAMPLE_INSTITUTIONS.young,
    name: 'Jaunā IT akadēmija (paraugs)',
    companyRegistrationNumber: SAMPLE_COMPANIES.young,
    accredited: true,
    registeredSince: '2024-08-15',
    placesOfDelivery: [{ address: 'Daugavpils, Saules iela 5 (paraugs)' }],
    licences: [
      { number: 'P-00031 (paraugs)', programme: 'Kiberdrošības pamati (paraugs)', hours: 120 },
      { number: 'P-00032 (paraugs)', programme: 'Programmēšanas pamati: Java (paraugs)', hours: 160 },
    ],
    note: 'registered since 2024 (under 3 years)',
  },
  {
    registrationNumber: SAMPLE_INSTITUTIONS.unaccredited,
    name: 'Privātā datorskola "Bez akreditācijas" (paraugs)',
    companyRegistrationNumber: SAMPLE_COMPANIES.unaccredited,
    accredited: false,
    registeredSince: '2012-01-10',
    placesOfDelivery: [{ address: 'Cēsis, Raunas iela 2 (paraugs)' }],
    licences: [
      { number: 'P-00041 (paraugs)', programme: 'Datorsistēmu tehniķis (paraugs)', hours: 160 },
      { number: 'P-00042 (paraugs)', programme: 'Datu bāzu pamati (paraugs)', hours: 80 },
    ],
    note: 'not accredited',
  },
];

/** The demo companies seeded into the Enterprise Register stub (SAMPLE data; see SAMPLE_COMPANIES). */
export const seedCompanies: SeedCompany[] = [
  { registrationNumber: SAMPLE_COMPANIES.demo, name: 'SIA "Digitālās prasmes" (paraugs)', status: 'active', registeredOn: '2014-03-12', note: 'demo provider' },
  { registrationNumber: SAMPLE_COMPANIES.second, name: 'SIA "Kurzemes digitālās prasmes" (paraugs)', status: 'active', registeredOn: '2017-06-01', note: 'second provider' },
  { registrationNumber: SAMPLE_COMPANIES.liquidated, name: 'SIA "Vakardiena" (paraugs)', status: 'liquidated', registeredOn: '2009-11-02', note: 'liquidated' },
  { registrationNumber: SAMPLE_COMPANIES.young, name: 'SIA "Jaunā IT akadēmija" (paraugs)', status: 'active', registeredOn: '2024-04-18', note: 'company of the young institution' },
  { registrationNumber: SAMPLE_COMPANIES.unaccredited, name: 'SIA "Datorskola" (paraugs)', status: 'active', registeredOn: '2011-08-30', note: 'company of the unaccredited institution' },
  { registrationNumber: SAMPLE_COMPANIES.insolvent, name: 'SIA "Parādnieks" (paraugs)', status: 'insolvent', registeredOn: '2016-02-29', note: 'insolvent' },
];
