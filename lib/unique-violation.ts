/** The constraint a Postgres unique violation broke (from knex or objection), or null for any other error. */
export function violatedUniqueConstraint(err: unknown): string | null {
  const pg = err as { code?: string; constraint?: string; nativeError?: { code?: string; constraint?: string } };
  if ((pg.code ?? pg.nativeError?.code) !== '23505') return null;
  return pg.constraint ?? pg.nativeError?.constraint ?? null;
}
