/**
 * Schemathesis (from PyPI) in a virtual environment the project owns, and one run of it against the OpenAPI
 * document, read back from its JSON report.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { runCommand } from '../services/processes';

/** The checks every run makes, and why. */
export const CHECKS = [
  // No 5xx, ever (a 503 of an outage is documented, and there is no outage during the fuzz stage).
  'not_a_server_error',
  // Every status the app answers is listed for the operation, with the content type it comes in...
  'status_code_conformance',
  'content_type_conformance',
  // ...and the body and the documented headers (Location of a redirect, Retry-After of a 503) match.
  'response_schema_conformance',
  'response_headers_conformance',
  // A route the document says needs a session refuses a request without one (authorization at every door).
  'ignored_auth',
  // Left out: negative_data_rejection (pages are lenient by design: an unknown ?notice= is ignored, an empty filter
  // means "any", /offers shows a bad filter on a 200 page) and positive_data_acceptance (valid-looking ids name
  // nothing here, so 404 and 409 are the right answers); use_after_free and ensure_resource_availability need
  // DELETE operations, which the API has none of.
] as const;

/**
 * Installs schemathesis into `<root>/.data/fuzz-venv` from the pinned dev/fuzz/requirements.txt, once: a stamp
 * file holds the hash of the requirements it was installed from, and a changed file means a fresh install.
 * Returns the path of the schemathesis command.
 */
export async function ensureSchemathesis(root: string): Promise<string> {
  const venv = path.join(root, '.data', 'fuzz-venv');
  const requirements = path.join(root, 'dev', 'fuzz', 'requirements.txt');
  const stamp = path.join(venv, 'requirements.sha256');
  const binary = path.join(venv, 'bin', 'schemathesis');
  const wanted = createHash('sha256').update(fs.readFileSync(requirements)).digest('hex');
  if (fs.existsSync(binary) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === wanted) return binary;
  process.stdout.write(`[fuzz] installing schemathesis into ${path.relative(root, venv)} (dev/fuzz/requirements.txt changed or not installed yet)\n`);
  fs.rmSync(venv, { recursive: true, force: true });
  const steps: [string, string[]][] = [
    ['python3', ['-m', 'venv', venv]],
    [path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', '--no-input', '-r', requirements]],
  ];
  for (const [cmd, args] of steps) {
    const code = await runCommand('fuzz-venv', cmd, args, { cwd: root });
    if (code !== 0) throw new Error(`${path.basename(cmd)} ${args.slice(0, 2).join(' ')} failed (exit code ${code}); python3 with venv and pip, and PyPI, are needed`);
  }
  fs.writeFileSync(stamp, `${wanted}\n`);
  return binary;
}

/** How long and how hard one run fuzzes. */
export interface FuzzBudget {
  /** Test cases per operation and phase. */
  maxExamples: number;
  phases: readonly ('examples' | 'coverage' | 'fuzzing' | 'stateful')[];
  workers: number;
  /** Stop the run after this many seconds (schemathesis' own --max-time), if set. */
  maxSeconds?: number;
}

/** What one run found. */
export interface FuzzResult {
  label: string;
  operations: number;
  examples: number;
  /** One line per kind of failure, naming the operations it was found on. */
  failures: { title: string; code: string; count: number; operations: string[] }[];
  /** Operations schemathesis could not test (a schema it cannot read, a connection error). */
  errors: string[];
  exitCode: number;
  seconds: number;
}

/**
 * Runs schemathesis once over the document in `schemaFile` against `baseUrl`, with the session as a bearer
 * token, and reads the result from its JSON report. Its own output (with a curl line per failure) goes to ours.
 */
export async function runSchemathesis(opts: {
  binary: string;
  label: string;
  schemaFile: string;
  baseUrl: string;
  token: string | null;
  seed: number;
  budget: FuzzBudget;
  reportDir: string;
  /** A schemathesis config file (dictionaries of real ids, see known-ids.ts). */
  configFile?: string;
  /** Only these paths (exact, as in the document), e.g. one route under test. */
  includePaths?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /**
   * Schemathesis' own output (each failure with its curl line): copied to ours as it comes ('always', the default),
   * only when the run failed ('on-failure', which keeps `make test` short), or kept in the report directory only.
   */
  echo?: 'always' | 'on-failure' | 'never';
}): Promise<FuzzResult> {
  const started = Date.now();
  fs.rmSync(opts.reportDir, { recursive: true, force: true });
  fs.mkdirSync(opts.reportDir, { recursive: true });
  const report = path.join(opts.reportDir, 'report.json');
  const { budget } = opts;
  const args = [
    ...(opts.configFile ? ['--config-file', opts.configFile] : []),
    'run', opts.schemaFile, '--url', opts.baseUrl,
    '--seed', String(opts.seed), '--max-examples', String(budget.maxExamples), '--phases', budget.phases.join(','),
    '--workers', String(budget.workers), '--checks', CHECKS.join(','),
    // The session goes in as given; schemathesis would otherwise make up values for the security schemes too.
    '--generation-with-security-parameters', 'false',
    // A failure is printed as found, not shrunk for minutes: the seed makes it reproducible anyway.
    '--no-shrink',
    // Nothing remembered between runs (hypothesis' example database): the seed alone decides what is sent.
    '--generation-database', 'none',
    '--request-timeout', '30',
    '--report', 'json', '--report-json-path', report, '--no-color',
    ...(budget.maxSeconds ? ['--max-time', String(budget.maxSeconds)] : []),
    ...(opts.token ? ['--header', `Authorization: Bearer ${opts.token}`] : []),
    ...(opts.includePaths ?? []).flatMap((p) => ['--include-path', p]),
  ];
  const runOptions = { cwd: opts.reportDir, env: { ...(opts.env ?? process.env), NO_COLOR: '1' } };
  // (cwd is the report directory, so nothing it writes lands in the checkout.)
  const echo = opts.echo ?? 'always';
  const exitCode = echo === 'always'
    ? await runCommand(`fuzz ${opts.label}`, opts.binary, args, runOptions)
    : await runQuietly(opts.binary, args, runOptions, path.join(opts.reportDir, 'output.txt'));
  if (echo === 'on-failure' && exitCode !== 0) {
    const prefix = `[fuzz ${opts.label}] `;
    process.stdout.write(fs.readFileSync(path.join(opts.reportDir, 'output.txt'), 'utf8').split('\n').map((line) => `${prefix}${line}`).join('\n'));
  }
  const seconds = (Date.now() - started) / 1000;
  if (!fs.existsSync(report)) {
    return { label: opts.label, operations: 0, examples: 0, failures: [], errors: [`schemathesis wrote no report (exit code ${exitCode})`], exitCode, seconds };
  }
  const json = JSON.parse(fs.readFileSync(report, 'utf8')) as SchemathesisReport;
  return {
    label: opts.label,
    operations: json.operations.tested,
    examples: json.test_cases.generated,
    failures: json.failures.map((f) => ({ title: f.title, code: f.code, count: f.count, operations: f.operations })),
    errors: json.errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))),
    exitCode,
    seconds,
  };
}

/** Runs a command with its output into a file; resolves with its exit code. It ends with our process at the latest. */
function runQuietly(cmd: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }, outputFile: string): Promise<number> {
  return new Promise((resolve) => {
    const output = fs.openSync(outputFile, 'w');
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', output, output] });
    const stop = () => child.kill('SIGKILL');
    process.once('exit', stop);
    let settled = false;
    const settle = (code: number) => {
      if (settled) return;
      settled = true;
      process.off('exit', stop);
      fs.closeSync(output);
      resolve(code);
    };
    child.once('error', () => settle(127));
    child.once('exit', (code) => settle(code ?? 1));
  });
}

/** The parts of schemathesis' JSON report we read. */
interface SchemathesisReport {
  operations: { tested: number };
  test_cases: { generated: number };
  failures: { title: string; code: string; count: number; operations: string[] }[];
  errors: unknown[];
}
