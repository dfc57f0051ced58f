import { createDb, migrateLatest, Provider, User } from '../lib/db';
import { checkPassword } from '../domain/password-policy';
import { hashPassword } from '../lib/passwords';
import { seedCalls } from './seed-calls';
import { seedOffers } from './seed-offers';
import { sampleMunicipalities } from './seed-social-status';

/** Demo accounts seeded into a fresh database; the launcher prints these logins. */
export const demoUsers = [
  { username: 'staff', email: 'inese.klavina@agency.example', password: 'Agentura#2026', displayName: 'Inese Kļaviņa', role: 'staff' as const },
  { username: 'lead', email: 'sandra.kalnina@agency.example', password: 'Vaditaja#2026', displayName: 'Sandra Kalniņa', role: 'staff' as const, teamLead: true },
  { username: 'staff2', email: 'janis.berzins@agency.example', password: 'Kolegis#2026', displayName: 'Jānis Bērziņš', role: 'staff' as const },
  { username: 'admin', email: 'andris.priede@agency.example', password: 'Admins#2026x', displayName: 'Andris Priede', role: 'admin' as const },
  { username: 'provider', email: 'dace.vitola@provider.example', password: 'Provider#2026', displayName: 'Dace Vītola', role: 'provider' as const },
];

/** The demo education provider (sample data). */
export const demoProvider = {
  name: 'Mācību centrs "Digitālās prasmes" (paraugs)', registrationNumber: '40003000001',
  educationRegistrationNumber: '3360800001', email: 'info@digitalas-prasmes.example',
};

/** A demo role grant: Marta Zariņa (sample person) is the adult-education coordinator of Daugavpils. */
export const demoRoleGrant = {
  personCode: '220288-10458', role: 'coordinator' as const, municipality: 'Daugavpils',
  municipalityCode: sampleMunicipalities.daugavpils, validFrom: '2026-01-01', validUntil: '2027-12-31', grantedBy: 'demo seed',
};

/** Runs migrations, then adds the demo provider and users if they are missing; safe to run at every start. */
export async function seed(databaseUrl: string, opts: { migrateOnly?: boolean } = {}): Promise<void> {
  const db = createDb(databaseUrl, { min: 0, max: 2 });
  try {
    await migrateLatest(db);
    if (opts.migrateOnly) return;
    await Provider.query(db).insert(demoProvider as Partial<Provider>).onConflict('registrationNumber').ignore();
    const provider = await Provider.query(db).findOne({ registrationNumber: demoProvider.registrationNumber });
    await seedOffers(db, provider!.id);
    await seedCalls(db);
    const { personCode, role, municipalityCode } = demoRoleGrant;
    if (!(await db('roleGrants').where({ personCode, role, municipalityCode }).first('id'))) await db('roleGrants').insert(demoRoleGrant);
    for (const user of demoUsers) {
      if (await User.query(db).findOne({ username: user.username })) continue;
      // Demo passwords follow the same policy as everyone's.
      const problems = checkPassword(user.password);
      if (problems.length > 0) throw new Error(`demo password of ${user.username} breaks the policy: ${problems.map((p) => p.code).join(', ')}`);
      await User.query(db).insert({
        // The e-mail address is where a password-reset link goes (the mail catcher in development).
        username: user.username, email: user.email, displayName: user.displayName, role: user.role,
        passwordHash: await hashPassword(user.password), providerId: user.role === 'provider' ? provider!.id : null,
        providerRole: user.role === 'provider' ? 'admin' : null, teamLead: 'teamLead' in user && user.teamLead === true,
      } as Partial<User>);
    }
  } finally {
    await db.destroy();
  }
}

if (require.main === module) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('DATABASE_URL is not set\n');
    process.exit(1);
  }
  seed(url, { migrateOnly: process.argv.includes('--migrate-only') }).then(
    () => process.stdout.write('database migrated and seeded\n'),
    (err) => { process.stderr.write(`seeding failed: ${err}\n`); process.exit(1); },
  );
}
