import test, { type ExecutionContext } from 'ava';
import nodemailer from 'nodemailer';
import { createMailCatcher, type CaughtMessage } from '../../dev/stubs/mail-catcher';
import { permanentRejection } from '../../lib/mailer';

async function startCatcher(t: ExecutionContext) {
  const catcher = createMailCatcher();
  const running = await catcher.listen();
  t.teardown(() => running.close());
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: running.smtpPort, secure: false, ignoreTLS: true });
  t.teardown(() => transport.close());
  return { catcher, running, transport };
}

test('catches a message sent over SMTP and serves it over HTTP', async (t) => {
  const { catcher, running, transport } = await startCatcher(t);
  const arrived = catcher.waitFor((m) => m.subject === 'Jūsu pieteikums saņemts');
  await transport.sendMail({
    from: '"Individuālie mācību konti" <noreply@example.lv>',
    to: 'anna@example.lv',
    subject: 'Jūsu pieteikums saņemts',
    text: 'Labdien, Anna!',
    html: '<p>Labdien, <b>Anna</b>!</p><script>alert(1)</script>',
  });
  const message = await arrived;
  t.deepEqual(message.to, ['anna@example.lv']);
  t.regex(message.from, /noreply@example\.lv/);
  t.is(message.text.trim(), 'Labdien, Anna!');
  t.true(message.html.includes('<b>Anna</b>'));
  t.truthy(message.messageId);

  const api = (await (await fetch(`${running.httpUrl}/api/messages`)).json()) as CaughtMessage[];
  t.is(api.length, 1);
  t.is(api[0].subject, 'Jūsu pieteikums saņemts');

  const list = await (await fetch(`${running.httpUrl}/`)).text();
  t.true(list.includes(`href="/messages/${message.id}"`));
  const page = await (await fetch(`${running.httpUrl}/messages/${message.id}`)).text();
  t.regex(page, /<iframe sandbox="" [^>]*srcdoc="[^"]*&lt;b&gt;Anna&lt;\/b&gt;/);

  t.is((await fetch(`${running.httpUrl}/api/messages`, { method: 'DELETE' })).status, 204);
  t.deepEqual(catcher.messages(), []);
});

test('waitFor resolves for an already caught message and times out listing subjects', async (t) => {
  const { catcher, transport } = await startCatcher(t);
  await transport.sendMail({ from: 'a@example.lv', to: 'b@example.lv', subject: 'Pirmā', text: 'x' });
  t.is((await catcher.waitFor((m) => m.subject === 'Pirmā', 2000)).subject, 'Pirmā');
  const err = await t.throwsAsync(catcher.waitFor((m) => m.subject === 'Nekad', 50));
  t.regex(err.message, /within 50 ms/);
  t.regex(err.message, /"Pirmā"/);
});

test('stall at data holds the reply; a sender that hangs up first has not handed the message over', async (t) => {
  const { catcher, running, transport } = await startCatcher(t);
  const impatient = nodemailer.createTransport({ host: '127.0.0.1', port: running.smtpPort, secure: false, ignoreTLS: true, socketTimeout: 1_000 });
  t.teardown(() => impatient.close());
  catcher.stall({ at: 'data', ms: 2_500, count: 1 });
  t.deepEqual(catcher.state().stall, { at: 'data', ms: 2_500, remaining: 1 });
  const err = await t.throwsAsync(impatient.sendMail({ from: 'a@example.lv', to: 'b@example.lv', subject: 'Aizturēta', text: 'x' }));
  t.regex(String((err as { code?: string }).code), /ETIMEDOUT|SOCKET_TIMEOUT/);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  t.deepEqual(catcher.messages(), [], 'the held message was not caught: its sender had hung up');
  t.deepEqual(catcher.state().stall, { at: 'data', ms: 2_500, remaining: 0 });

  // The count is used up: the next message goes straight through.
  await transport.sendMail({ from: 'a@example.lv', to: 'b@example.lv', subject: 'Nākamā', text: 'x' });
  t.deepEqual(catcher.messages().map((m) => m.subject), ['Nākamā']);
});

test('stall at data: a patient sender waits and its message is caught once the reply is sent', async (t) => {
  const { catcher, transport } = await startCatcher(t);
  catcher.stall({ at: 'data', ms: 400 });
  const started = Date.now();
  await transport.sendMail({ from: 'a@example.lv', to: 'b@example.lv', subject: 'Lēna', text: 'x' });
  t.true(Date.now() - started >= 380, 'the reply to DATA was held');
  t.deepEqual(catcher.messages().map((m) => m.subject), ['Lēna']);
  t.deepEqual(catcher.state().stall, { at: 'data', ms: 400, remaining: null }, 'without a count the stall stays on');
});

test('stall at connect holds the greeting, so a sender with a shorter greeting timeout gives up', async (t) => {
  const { catcher, running, transport } = await startCatcher(t);
  catcher.stall({ at: 'connect', ms: 2_500, count: 1 });
  const impatient = nodemailer.createTransport({ host: '127.0.0.1', port: running.smtpPort, secure: false, ignoreTLS: true, greetingTimeout: 1_000 });
  t.teardown(() => impatient.close());
  const err = await t.throwsAsync(impatient.sendMail({ from: 'a@example.lv', to: 'b@example.lv', subject: 'Nekad', text: 'x' }));
  t.is((err as { code?: string }).code, 'ETIMEDOUT');
  t.regex(err.message, /Greeting never received/);
  await transport.sendMail({ from: 'a@example.lv', to: 'b@example.lv', subject: 'Vēlāk', text: 'x' });
  t.deepEqual(catcher.messages().map((m) => m.subject), ['Vēlāk']);
});

test('rejectAddress refuses that recipient for good at RCPT TO (550); other addresses still get through', async (t) => {
  const { catcher, transport } = await startCatcher(t);
  catcher.rejectAddress('Nav.Tads@example.lv');
  const err = await t.throwsAsync(transport.sendMail({ from: 'a@example.lv', to: 'nav.tads@example.lv', subject: 'Atteikta', text: 'x' }));
  t.like(err as unknown as Record<string, unknown>, { responseCode: 550, command: 'RCPT TO' });
  t.regex(String((err as { response?: string }).response), /^550 5\.1\.1 <nav\.tads@example\.lv>: no such user/);
  t.is(permanentRejection(err), (err as { response?: string }).response ?? null);
  await transport.sendMail({ from: 'a@example.lv', to: 'anna@example.lv', subject: 'Pieņemta', text: 'x' });
  t.deepEqual(catcher.messages().map((m) => m.subject), ['Pieņemta']);
  catcher.reset();
  await transport.sendMail({ from: 'a@example.lv', to: 'nav.tads@example.lv', subject: 'Pēc atiestatīšanas', text: 'x' });
  t.is(catcher.messages().length, 2);
});

test('the switches over HTTP: POST /__control sets them, bad values are a 400 naming the field, reset clears them', async (t) => {
  const { catcher, running } = await startCatcher(t);
  const post = (path: string, body?: unknown) => fetch(`${running.httpUrl}${path}`, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
  const set = await post('/__control', { stall: { at: 'connect', ms: 250, count: 2 }, rejectAddresses: ['x@example.lv'] });
  t.is(set.status, 200);
  t.deepEqual(await set.json(), { stall: { at: 'connect', ms: 250, remaining: 2 }, rejectAddresses: ['x@example.lv'] });
  t.deepEqual(catcher.state(), { stall: { at: 'connect', ms: 250, remaining: 2 }, rejectAddresses: ['x@example.lv'] });
  t.deepEqual(await (await fetch(`${running.httpUrl}/__control`)).json(), catcher.state());

  const bad = await post('/__control', { stall: { ms: -1 } });
  t.is(bad.status, 400);
  t.regex(((await bad.json()) as { message: string }).message, /ms must be/);
  const badAt = await post('/__control', { stall: { ms: 10, at: 'quit' } });
  t.regex(((await badAt.json()) as { message: string }).message, /at must be/);
  const badAddress = await post('/__control', { rejectAddresses: ['not-an-address'] });
  t.is(badAddress.status, 400);
  t.regex(((await badAddress.json()) as { message: string }).message, /rejectAddress/);
  t.is((await post('/__control', undefined)).status, 200);
  t.is((await fetch(`${running.httpUrl}/__control`, { method: 'POST', body: '{' })).status, 400);

  const reset = await post('/__control/reset');
  t.deepEqual(await reset.json(), { stall: null, rejectAddresses: [] });
});
