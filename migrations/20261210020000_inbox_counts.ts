import type { Knex } from 'knex';

/**
 * Issue 17 item 2: the inbox's counts per filter option come from a summary of the tasks (`inbox_counts`) instead of
 * counting every task row per page view. Triggers keep it right in the same transaction as every change of a task
 * row, whoever makes it (activities, the API, the consistency repairs, a seed written straight in SQL).
 *
 * A summary row counts the tasks of one (state, type, programme, call, assignee, escalated) at one due grain:
 * - a decided or withdrawn task has one row with no due time (the due filters are about open tasks only);
 * - an open task is counted three times, by the end of its due Riga day, hour and minute ("grains"), each the
 *   ceiling of its due time, so a task due exactly at midnight belongs to the day that ends then (lastRigaDayOf).
 * The day rows answer "today" and "this week" exactly (both end at a Riga midnight) and every count that does not
 * look at due times; "overdue" (due before now) takes the day rows before today, today's hour rows before this
 * hour and this hour's minute rows before this minute, and counts the tasks of the current minute itself.
 * Riga's offsets are whole hours, so hours nest in Riga days.
 *
 * The programme is the learner case's or else the offer's and the call is the offer's, as the inbox's filters
 * read them; changing a case's programme or an offer's programme or call moves its tasks' counts.
 */

/** Keys of one task: (escalated, grain, due_end) rows for its state, due time and escalation. */
const KEYS_FUNCTION = `
  CREATE FUNCTION inbox_count_keys(state text, due_at timestamptz, escalated_at timestamptz)
  RETURNS TABLE (escalated boolean, grain text, due_end timestamptz) LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    -- Only immutable expressions (no extract(epoch), which is stable), so the planner inlines this into a join.
    SELECT state = 'open' AND escalated_at IS NOT NULL, g.grain, g.due_end
    FROM (VALUES
      ('day', CASE WHEN state = 'open'
        THEN ((((due_at - interval '1 microsecond') AT TIME ZONE 'Europe/Riga')::date + 1)::timestamp AT TIME ZONE 'Europe/Riga') END),
      ('hour', (date_trunc('hour', (due_at AT TIME ZONE 'UTC') - interval '1 microsecond') + interval '1 hour') AT TIME ZONE 'UTC'),
      ('minute', (date_trunc('minute', (due_at AT TIME ZONE 'UTC') - interval '1 microsecond') + interval '1 minute') AT TIME ZONE 'UTC')
    ) g(grain, due_end)
    WHERE g.grain = 'day' OR state = 'open'
  $$`;

const KEY_COLUMNS = 'grain, due_end, state, type, programme, call_id, assignee_id, escalated';

/**
 * SQL that adds the signed counts of some task rows to the summary. `rows` is a FROM item yielding columns state,
 * type, programme, call_id, assignee_id, due_at, escalated_at and d (+1 or -1). Keys are locked in one order, so two
 * transactions changing several tasks at once cannot deadlock on the summary; rows that reach zero are deleted.
 */
function applyDeltaSql(rows: string): string {
  return `
    INSERT INTO inbox_counts (${KEY_COLUMNS}, n)
    SELECT k.grain, k.due_end, r.state, r.type, r.programme, r.call_id, r.assignee_id, k.escalated, sum(r.d)
    FROM ${rows} CROSS JOIN LATERAL inbox_count_keys(r.state, r.due_at, r.escalated_at) k
    GROUP BY ${KEY_COLUMNS} HAVING sum(r.d) <> 0
    ORDER BY ${KEY_COLUMNS}
    ON CONFLICT (${KEY_COLUMNS}) DO UPDATE SET n = inbox_counts.n + EXCLUDED.n;
    DELETE FROM inbox_counts WHERE n = 0;`;
}

/** Task rows (alias t) with the programme and call the inbox filters by, and a sign. */
function taskRowsSql(from: string, sign: 1 | -1): string {
  return `(SELECT t.state, t.type, coalesce(c.programme, o.programme) AS programme, o.call_id, t.assignee_id, t.due_at, t.escalated_at, ${sign} AS d
    FROM ${from} t LEFT JOIN cases c ON c.id = t.case_id LEFT JOIN offers o ON o.id = t.offer_id)`;
}

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE inbox_counts (
      grain text NOT NULL CHECK (grain IN ('day', 'hour', 'minute')),
      due_end timestamptz,
      state text NOT NULL,
      type text NOT NULL,
      programme text,
      call_id uuid,
      assignee_id uuid,
      escalated boolean NOT NULL,
      -- No CHECK (n >= 0): PostgreSQL checks it on the row an upsert proposes (a -1) before finding the row it
      -- adds to. The consistency check compares every row with a recount instead.
      n integer NOT NULL
    )`);
  await knex.raw(`CREATE UNIQUE INDEX inbox_counts_key ON inbox_counts (${KEY_COLUMNS}) NULLS NOT DISTINCT`);
  // Rows just brought to zero, deleted by the trigger that zeroed them.
  await knex.raw('CREATE INDEX inbox_counts_zero ON inbox_counts ((1)) WHERE n = 0');
  // The list's due order (due time, creation, id) straight from an index, even where many tasks share a due time
  // (a call's evaluation end): this one replaces the index on (state, due_at), which it serves too (the tasks of
  // the current minute that "overdue" counts one by one). Open tasks escalated before their due time have their own.
  await knex.raw('CREATE INDEX tasks_state_due_order ON tasks (state, due_at, created_at, id)');
  await knex.raw('DROP INDEX tasks_state_due_at_index');
  await knex.raw("CREATE INDEX tasks_open_escalated_due_order ON tasks (due_at, created_at, id) WHERE state = 'open' AND escalated_at IS NOT NULL");
  await knex.raw(KEYS_FUNCTION);

  // Backfill: what is there now.
  await knex.raw(applyDeltaSql(`${taskRowsSql('tasks', 1)} r`));

  await knex.raw(`
    CREATE FUNCTION inbox_counts_on_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        ${applyDeltaSql(`${taskRowsSql('new_rows', 1)} r`)}
      ELSIF TG_OP = 'DELETE' THEN
        ${applyDeltaSql(`${taskRowsSql('old_rows', -1)} r`)}
      ELSE
        ${applyDeltaSql(`(${taskRowsSql('new_rows', 1)} UNION ALL ${taskRowsSql('old_rows', -1)}) r`)}
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER tasks_inbox_counts_insert AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_counts_on_tasks()`);
  await knex.raw(`CREATE TRIGGER tasks_inbox_counts_update AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_counts_on_tasks()`);
  await knex.raw(`CREATE TRIGGER tasks_inbox_counts_delete AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_counts_on_tasks()`);
  await knex.raw(`
    CREATE FUNCTION inbox_counts_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN DELETE FROM inbox_counts; RETURN NULL; END $$`);
  await knex.raw('CREATE TRIGGER tasks_inbox_counts_truncate AFTER TRUNCATE ON tasks FOR EACH STATEMENT EXECUTE FUNCTION inbox_counts_on_truncate()');

  // A case's programme or an offer's programme or call changed: its tasks move from the old key to the new one.
  // Concurrent task writes must not count a task under the old key after the move has read it, so this (rare)
  // change takes the locks: the case or offer row FOR UPDATE waits for, and then holds off, transactions that
  // insert a task referring to it (their foreign key check takes KEY SHARE), and the task rows FOR NO KEY UPDATE
  // wait for, and then hold off, changes of its tasks. Each waiter's trigger then reads the committed state.
  const locks = (subject: 'case' | 'offer') => `
    PERFORM 1 FROM ${subject}s WHERE id = NEW.id FOR UPDATE;
    PERFORM 1 FROM tasks WHERE ${subject}_id = NEW.id ORDER BY id FOR NO KEY UPDATE;`;
  const moved = (subject: 'case' | 'offer') => {
    const programme = subject === 'case' ? 'coalesce(NEW.programme, o.programme)' : 'coalesce(c.programme, NEW.programme)';
    const oldProgramme = subject === 'case' ? 'coalesce(OLD.programme, o.programme)' : 'coalesce(c.programme, OLD.programme)';
    const call = subject === 'case' ? 'o.call_id' : 'NEW.call_id';
    const oldCall = subject === 'case' ? 'o.call_id' : 'OLD.call_id';
    const rows = (p: string, callId: string, sign: number) => `(SELECT t.state, t.type, ${p} AS programme, ${callId} AS call_id, t.assignee_id,
      t.due_at, t.escalated_at, ${sign} AS d
      FROM tasks t LEFT JOIN cases c ON c.id = t.case_id LEFT JOIN offers o ON o.id = t.offer_id WHERE t.${subject}_id = NEW.id)`;
    return locks(subject) + applyDeltaSql(`(${rows(programme, call, 1)} UNION ALL ${rows(oldProgramme, oldCall, -1)}) r`);
  };
  await knex.raw(`
    CREATE FUNCTION inbox_counts_on_case() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN ${moved('case')} RETURN NULL; END $$`);
  await knex.raw(`CREATE TRIGGER cases_inbox_counts AFTER UPDATE OF programme ON cases FOR EACH ROW
    WHEN (OLD.programme IS DISTINCT FROM NEW.programme) EXECUTE FUNCTION inbox_counts_on_case()`);
  await knex.raw(`
    CREATE FUNCTION inbox_counts_on_offer() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN ${moved('offer')} RETURN NULL; END $$`);
  await knex.raw(`CREATE TRIGGER offers_inbox_counts AFTER UPDATE OF programme, call_id ON offers FOR EACH ROW
    WHEN (OLD.programme IS DISTINCT FROM NEW.programme OR OLD.call_id IS DISTINCT FROM NEW.call_id) EXECUTE FUNCTION inbox_counts_on_offer()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER offers_inbox_counts ON offers');
  await knex.raw('DROP TRIGGER cases_inbox_counts ON cases');
  for (const t of ['insert', 'update', 'delete', 'truncate']) await knex.raw(`DROP TRIGGER tasks_inbox_counts_${t} ON tasks`);
  await knex.raw('DROP FUNCTION inbox_counts_on_offer()');
  await knex.raw('DROP FUNCTION inbox_counts_on_case()');
  await knex.raw('DROP FUNCTION inbox_counts_on_truncate()');
  await knex.raw('DROP FUNCTION inbox_counts_on_tasks()');
  await knex.raw('DROP FUNCTION inbox_count_keys(text, timestamptz, timestamptz)');
  await knex.raw('DROP INDEX tasks_open_escalated_due_order');
  await knex.raw('CREATE INDEX tasks_state_due_at_index ON tasks (state, due_at)');
  await knex.raw('DROP INDEX tasks_state_due_order');
  await knex.raw('DROP TABLE inbox_counts');
}
