import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

// The pages forbid inline scripts (CSP); the tests' browser contexts bypass that only to inject axe.
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Headless Chromium as the test command installs it (dev/ensure-chromium.sh). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** The serious and critical WCAG 2.1 AA violations axe-core finds on the page, as "rule: target" lines. */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  // Only the violations are read: axe then spends no time detailing what passed.
  // Evaluated in the page, where axe and the DOM live (the tests' TypeScript has no DOM types).
  const violations = await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] })
    .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) })))`) as
    { id: string; impact: string | null; targets: string[] }[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').flatMap((v) => v.targets.map((target) => `${v.id}: ${target}`));
}
