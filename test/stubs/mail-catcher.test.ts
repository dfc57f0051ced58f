import test, { type ExecutionContext } from 'ava';
import nodemailer from 'nodemailer';
import { createMailCatcher, type CaughtMessage } from '../../dev/stubs/mail-catcher';

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
