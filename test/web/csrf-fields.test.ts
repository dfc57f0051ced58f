import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { createRenderer } from '../../web/render';

// Every form that posts carries the CSRF token field (api/middleware/csrf.ts): a new form without it would be
// refused with 403 form_token_invalid for every user, so the views are checked here, before any browser notices.

const viewsDir = path.join(__dirname, '..', '..', 'web', 'views');

test('every form in the views that posts has the {{csrf}} field', (t) => {
  const files = fs.readdirSync(viewsDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.hbs'));
  let forms = 0;
  for (const file of files) {
    const source = fs.readFileSync(path.join(viewsDir, file), 'utf8');
    for (const match of source.matchAll(/<form\b[^>]*>/gi)) {
      if (!/method="post"/i.test(match[0])) continue;
      forms += 1;
      const rest = source.slice(match.index! + match[0].length);
      const inside = rest.slice(0, rest.search(/<\/form>/i));
      t.true(inside.includes('{{csrf}}'), `${file}: ${match[0]}`);
    }
  }
  t.true(forms > 30, `${forms} forms checked`);
});

test('{{csrf}} renders the hidden field with the page\'s token, escaped', (t) => {
  const html = createRenderer().render('staff-login', { lang: 'lv', title: 'x', csrfToken: 'abc"<' });
  t.regex(html, /<input type="hidden" name="_csrf" value="abc&quot;&lt;">/);
});
