import type { Listening } from './http';
import { readBody, sendJson } from './http';
import { normalizePersonCode } from './person-code';
import { createSwitchboard, decodeSegment, withSwitches, type StubAnswer, type StubSwitches, type SwitchboardState } from './switchboard';

/**
 * The official e-address (e-adrese) as a stub speaking our contract (docs/contracts/service-accounting.md, second
 * part): `GET /e-address/v1/persons/:personCode` says whether the person has an e-address (200, or 404
 * `no_e_address`); `POST /e-address/v1/messages` delivers one message to it, once per idempotency key (a repeat is
 * acknowledged with the first message's id, not delivered again). `POST /__control/holders` with
 * `{"personCodes": [...]}` gives more people an e-address; `GET /__control/messages` lists what was delivered.
 */

/** One message as the person's e-address account holds it. */
export interface DeliveredMessage {
  messageId: string; idempotencyKey: string; personCode: string; subject: string; body: string; caseId: string | null; deliveredAt: string;
}

/** Snapshot of the stub's switches and counters, as `GET /__control` returns it. */
export interface EAddressState extends SwitchboardState { holders: number; delivered: number; duplicates: number }

/** In-process control: the shared switches, who has an e-address, and what was delivered. */
export interface EAddressControl extends StubSwitches {
  /** Gives the person an e-address. */
  addHolder(personCode: string): void;
  /** Every message delivered, in order. */
  messages(): DeliveredMessage[];
  /** The messages of one person. */
  messagesTo(personCode: string): DeliveredMessage[];
  /** Repeats acknowledged without delivering them again. */
  readonly duplicates: number;
}

/** The stub: its control and a way to serve it over HTTP. */
export interface EAddressStub {
  control: EAddressControl;
  listen(port?: number, host?: string): Promise<Listening>;
}

/** The demo people with an e-address under `make run`: Anna Bērziņa has one, the others do not. */
export const DEMO_E_ADDRESS_HOLDERS: readonly string[] = ['321178-40215'];

/** Creates the e-address stub; `holders` are the person codes that have an e-address. */
export function createEAddressStub(opts: { holders?: readonly string[] } = {}): EAddressStub {
  const holders = new Set<string>();
  const messages: DeliveredMessage[] = [];
  const byKey = new Map<string, DeliveredMessage>();
  let duplicates = 0;
  const board = createSwitchboard(() => { duplicates = 0; });

  const addHolder = (personCode: string) => {
    const code = normalizePersonCode(personCode);
    if (!code) throw new RangeError(`addHolder: invalid person code ${personCode}`);
    holders.add(code);
  };
  for (const code of opts.holders ?? []) addHolder(code);

  const control = withSwitches<EAddressControl>(board, {
    addHolder,
    messages: () => [...messages],
    messagesTo: (personCode: string) => messages.filter((m) => m.personCode === normalizePersonCode(personCode)),
    get duplicates() { return duplicates; },
  });
  const boardState = board.state;
  control.state = (): EAddressState => ({ ...boardState(), holders: holders.size, delivered: messages.length, duplicates });

  function decidePerson(raw: string): StubAnswer {
    const code = normalizePersonCode(raw);
    if (!code) return { status: 400, body: { error: 'invalid_person_code' } };
    return holders.has(code) ? { status: 200, body: { personCode: code, active: true } } : { status: 404, body: { error: 'no_e_address' } };
  }

  async function decideMessage(raw: string): Promise<StubAnswer> {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return { status: 400, body: { error: 'invalid_json' } };
    }
    if (typeof body !== 'object' || body === null) return { status: 400, body: { error: 'invalid_message', message: 'body must be a JSON object' } };
    for (const field of ['idempotencyKey', 'personCode', 'subject', 'body']) {
      if (typeof body[field] !== 'string' || (body[field] as string).length === 0) return { status: 400, body: { error: 'invalid_message', message: `${field} must be a non-empty string` } };
    }
    const known = byKey.get(body.idempotencyKey as string);
    if (known) {
      duplicates += 1;
      return { status: 200, body: { messageId: known.messageId, duplicate: true } };
    }
    const code = normalizePersonCode(body.personCode as string);
    if (!code) return { status: 400, body: { error: 'invalid_person_code' } };
    if (!holders.has(code)) return { status: 404, body: { error: 'no_e_address' } };
    const message: DeliveredMessage = {
      messageId: `EA-${String(messages.length + 1).padStart(8, '0')}`, idempotencyKey: body.idempotencyKey as string, personCode: code,
      subject: body.subject as string, body: body.body as string, caseId: typeof body.caseId === 'string' ? body.caseId : null,
      deliveredAt: new Date().toISOString(),
    };
    messages.push(message);
    byKey.set(message.idempotencyKey, message);
    return { status: 201, body: { messageId: message.messageId, duplicate: false } };
  }

  return {
    control,
    listen(port = 0, host = '127.0.0.1') {
      return board.listen((req, res, path, answer) => {
        const person = /^\/e-address\/v1\/persons\/([^/]+)$/.exec(path);
        if (person && req.method === 'GET') {
          answer(req, res, () => decidePerson(decodeSegment(person[1])));
          return true;
        }
        if (path === '/e-address/v1/messages' && req.method === 'POST') {
          // Read before deciding: a message is delivered on arrival even when the answer is delayed or lost.
          answer(req, res, async () => decideMessage(await readBody(req)));
          return true;
        }
        if (path === '/__control' && req.method === 'GET') {
          sendJson(res, 200, control.state());
          return true;
        }
        // What was delivered, without the texts (the fault drill counts it).
        if (path === '/__control/messages' && req.method === 'GET') {
          sendJson(res, 200, { messages: messages.map(({ body: _body, ...rest }) => rest) });
          return true;
        }
        if (path === '/__control/holders' && req.method === 'POST') {
          void readBody(req).then((raw) => {
            const codes = (JSON.parse(raw || '{}') as { personCodes?: unknown }).personCodes;
            if (!Array.isArray(codes) || !codes.every((c) => typeof c === 'string' && normalizePersonCode(c))) {
              return sendJson(res, 400, { error: 'invalid_control', message: 'personCodes must be a list of person codes' });
            }
            for (const code of codes as string[]) addHolder(code);
            sendJson(res, 200, control.state());
          }).catch(() => sendJson(res, 400, { error: 'invalid_json' }));
          return true;
        }
        return false;
      }, port, host);
    },
  };
}
