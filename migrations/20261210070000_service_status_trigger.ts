import type { Knex } from 'knex';

// Issue 17 item 6: a case's every change of stage is queued for the national platform's service accounting by a
// trigger on `cases`, in the same transaction as the change. It replaces a call after each stage write in the
// activities: a trigger also covers a write path added later, and lets a transition stay one statement (one round
// trip). A write that leaves the stage as it was (or as last queued) queues nothing. The case row is locked by the
// writing transaction, so two transitions of one case cannot take the same number; each statement of the function
// sees what committed before it (READ COMMITTED).

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION queue_service_status() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO service_status_outbox (case_id, seq, service_case_id, status, channel, idempotency_key)
      SELECT NEW.id, COALESCE(last.seq, 0) + 1, NEW.service_case_id, NEW.stage, NEW.channel, NEW.id || ':' || (COALESCE(last.seq, 0) + 1)
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (
        SELECT o.seq, o.status FROM service_status_outbox o WHERE o.case_id = NEW.id ORDER BY o.seq DESC LIMIT 1
      ) AS last ON true
      WHERE last.status IS DISTINCT FROM NEW.stage;
      RETURN NULL;
    END $$`);
  await knex.raw('CREATE TRIGGER cases_queue_service_status AFTER INSERT OR UPDATE OF stage ON cases FOR EACH ROW EXECUTE FUNCTION queue_service_status()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER cases_queue_service_status ON cases');
  await knex.raw('DROP FUNCTION queue_service_status()');
}
