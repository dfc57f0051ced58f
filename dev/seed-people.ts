/** A demo person known to the Population Register and single-sign-on stubs. */
export interface SeedPerson {
  personCode: string;
  firstName: string;
  lastName: string;
  /** YYYY-MM-DD; always taken from here, because new-format person codes encode no birth date. */
  birthDate: string;
  deceased: boolean;
  deceasedDate?: string;
  address: string;
  /** The municipality of the declared address, as the register names it. */
  municipality?: string;
  /** Short hint shown next to the person in the sign-in picker, e.g. 'adult, eligible'. */
  note: string;
}

/** The demo people seeded into the registry and sign-in stubs; codes are shown as `DDMMYY-NNNNN`. */
export const seedPeople: SeedPerson[] = [
  {
    // New-format code (issued since 2017): starts with 32 and encodes no birth date.
    personCode: '321178-40215',
    firstName: 'Anna',
    lastName: 'Bērziņa',
    birthDate: '1985-04-12',
    deceased: false,
    address: 'Brīvības iela 85-12, Rīga, LV-1001',
    municipality: 'Rīga',
    note: 'adult, eligible',
  },
  {
    personCode: '150690-11223',
    firstName: 'Jānis',
    lastName: 'Kalniņš',
    birthDate: '1990-06-15',
    deceased: false,
    address: 'Rīgas iela 22-4, Valmiera, Valmieras nov., LV-4201',
    municipality: 'Valmieras novads',
    note: 'adult, eligible',
  },
  {
    personCode: '010309-21234',
    firstName: 'Līga',
    lastName: 'Ozola',
    birthDate: '2009-03-01',
    deceased: false,
    address: 'Raunas iela 14, Cēsis, Cēsu nov., LV-4101',
    municipality: 'Cēsu novads',
    note: 'under 18, not eligible',
  },
  {
    personCode: '120345-10001',
    firstName: 'Pēteris',
    lastName: 'Liepa',
    birthDate: '1945-03-12',
    deceased: true,
    deceasedDate: '2025-01-10',
    address: 'Lielā iela 9-3, Liepāja, LV-3401',
    municipality: 'Liepāja',
    note: 'deceased, not eligible',
  },
  {
    personCode: '220288-10458',
    firstName: 'Marta',
    lastName: 'Zariņa',
    birthDate: '1988-02-22',
    deceased: false,
    address: 'Saules iela 37-15, Daugavpils, LV-5401',
    municipality: 'Daugavpils',
    note: 'adult, eligible (spare for tests)',
  },
];
