const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a value has the shape of a UUID (the ids of cases, tasks, offers, users, ...); checked before a query. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
