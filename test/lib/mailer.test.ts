import test from 'ava';
import { createMailCatcher } from '../../dev/stubs/mail-catcher';
import { createMailTransport } from '../../lib/mailer';

// The worker's SMTP transport keeps its connections open (issue 17 item 7): messages share a connection instead of
// paying a new one each, and a connection the server dropped (a restarted mail server) loses no message.

const message = (n: number) => ({ from: 'IMK <imk@test.invalid>', to: 'learner@example.lv', subject: `message ${n}`, text: `body ${n}` });

test('messages sent one after another share one SMTP connection', async (t) => {
  const catcher = createMailCatcher();
  const listening = await catcher.listen();
  const mailer = createMailTransport(`smtp://127.0.0.1:${listening.smtpPort}`);
  try {
    for (let n = 1; n <= 5; n += 1) await mailer.sendMail(message(n));
    t.deepEqual(catcher.messages().map((m) => m.subject), [1, 2, 3, 4, 5].map((n) => `message ${n}`));
    t.is(catcher.connectionsOpened(), 1);
  } finally {
    mailer.close();
    await listening.close();
  }
});

test('a message after the server dropped the pooled connection (restarted) is still delivered', async (t) => {
  const catcher = createMailCatcher();
  let listening = await catcher.listen();
  const smtpPort = listening.smtpPort;
  const mailer = createMailTransport(`smtp://127.0.0.1:${smtpPort}`);
  try {
    await mailer.sendMail(message(1));
    // The server goes away with the pool's connection open, and comes back on the same port.
    await listening.close();
    listening = await catcher.listen({ smtpPort });
    await mailer.sendMail(message(2));
    // And once more while the server is down: the send fails (and the outbox retries it), it is not silently lost.
    await listening.close();
    await t.throwsAsync(mailer.sendMail(message(3)));
    listening = await catcher.listen({ smtpPort });
    await mailer.sendMail(message(4));
    t.deepEqual(catcher.messages().map((m) => m.subject), ['message 1', 'message 2', 'message 4']);
  } finally {
    mailer.close();
    await listening.close();
  }
});
