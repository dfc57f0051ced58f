import { escapeHtml, htmlPage } from './http';

/** A message as the mail catcher keeps and serves it. */
export interface CaughtMessage {
  /** Sequential id, unique for the catcher's lifetime (not reused after `clear`). */
  id: string;
  /** The From header as written, e.g. `"Sender" <noreply@example.lv>`. */
  from: string;
  /** Envelope recipients (RCPT TO), so Bcc recipients appear too. */
  to: string[];
  subject: string;
  text: string;
  /** The HTML body, or '' for text-only messages. */
  html: string;
  /** ISO 8601: the Date header, or the time received when there is none. */
  date: string;
  messageId: string;
}

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1b1b1b; line-height: 1.5; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #ccc; vertical-align: top; }
iframe { width: 100%; height: 32rem; border: 1px solid #888; }
pre { white-space: pre-wrap; background: #f4f5f7; padding: 1rem; }
a:focus-visible { outline: 3px solid #0b5cd5; }
`;

function layout(title: string, body: string): string {
  return htmlPage({ lang: 'en', title, style: STYLE, body });
}

/** Renders the message list, newest first so the latest mail is at the top. */
export function renderMessageList(messages: CaughtMessage[]): string {
  const rows = [...messages]
    .reverse()
    .map(
      (m) => `<tr><td><a href="/messages/${encodeURIComponent(m.id)}">${escapeHtml(m.subject || '(no subject)')}</a></td>` +
        `<td>${escapeHtml(m.to.join(', '))}</td><td><time datetime="${escapeHtml(m.date)}">${escapeHtml(m.date)}</time></td></tr>`,
    )
    .join('\n');
  const table = messages.length
    ? `<table>
<caption>${messages.length} message(s), newest first</caption>
<thead><tr><th scope="col">Subject</th><th scope="col">To</th><th scope="col">Date</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`
    : '<p>No messages yet.</p>';
  return layout('Mail catcher', `<h1>Mail catcher</h1>
<p>Development stub: every message sent to this SMTP server is kept here in memory.</p>
${table}`);
}

/** Renders one message: headers, the HTML body in a sandboxed iframe (no scripts), and the plain text. */
export function renderMessage(m: CaughtMessage): string {
  const html = m.html
    ? `<h2>HTML body</h2>
<iframe sandbox="" title="HTML body of the message" srcdoc="${escapeHtml(m.html)}"></iframe>`
    : '<p>This message has no HTML body.</p>';
  return layout(`${m.subject || '(no subject)'} — Mail catcher`, `<p><a href="/">← All messages</a></p>
<h1>${escapeHtml(m.subject || '(no subject)')}</h1>
<dl>
<dt>From</dt><dd>${escapeHtml(m.from)}</dd>
<dt>To</dt><dd>${escapeHtml(m.to.join(', '))}</dd>
<dt>Date</dt><dd>${escapeHtml(m.date)}</dd>
<dt>Message-ID</dt><dd>${escapeHtml(m.messageId)}</dd>
</dl>
${html}
<h2>Plain text</h2>
<pre>${escapeHtml(m.text)}</pre>`);
}
