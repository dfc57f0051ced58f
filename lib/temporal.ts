import fs from 'node:fs';
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type TLSConfig } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { searchAttributeTypes } from '../workflows/ids';
import type { TemporalTlsFiles } from './config';

/** The search attribute types as the dev server's `--search-attribute Name=Type` flag spells them. */
export type SearchAttributeTypeName = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

const UPPER_CASE = {
  Keyword: 'KEYWORD', Text: 'TEXT', Int: 'INT', Double: 'DOUBLE', Bool: 'BOOL', Datetime: 'DATETIME', KeywordList: 'KEYWORD_LIST',
} as const;

/**
 * How long one call to Temporal may take. Without a deadline a call to an unreachable or mute server waits for the
 * SDK's ten retries (17–20 s) or for ever; the API must answer 503 within 5 s instead (DESIGN.md habit 15).
 */
export const TEMPORAL_CALL_DEADLINE_MS = 3_000;

/** Long polls (an Update waiting for the workflow's answer) are held open by the server, so they get longer. */
export const TEMPORAL_LONG_POLL_DEADLINE_MS = 9_000;

/**
 * All of one API request's calls to Temporal end by this time: the SDK repeats an Update's long poll for as long
 * as the workflow has not answered (a stopped worker), so a per-call deadline alone would not end the request.
 * Under 10 s, so that no answer hangs past 10 s, the promise the fault drill checks during every outage.
 */
export const TEMPORAL_REQUEST_BUDGET_MS = 9_500;

const LONG_POLLS = new Set(['UpdateWorkflowExecution', 'PollWorkflowExecutionUpdate']);

/**
 * A gRPC interceptor that gives every call a deadline unless the caller set an earlier one (connection.withDeadline):
 * one place, so no call from a process using connectTemporalClient can hang.
 */
export function deadlineInterceptor(callMs = TEMPORAL_CALL_DEADLINE_MS, longPollMs = TEMPORAL_LONG_POLL_DEADLINE_MS): Interceptor {
  return (options, nextCall) => {
    const method = options.method_definition.path.split('/').pop() ?? '';
    const ours = Date.now() + (LONG_POLLS.has(method) ? longPollMs : callMs);
    const given = options.deadline === undefined ? Infinity : new Date(options.deadline).getTime();
    return new InterceptingCall(nextCall({ ...options, deadline: Math.min(ours, given) }));
  };
}

/**
 * A Temporal client (the API's, and the worker's for console batches). Every call has a deadline, and a refused
 * connection is retried only three times (about half a second) before the caller hears UNAVAILABLE. It connects
 * on first use, so the API starts while Temporal is down and answers 503 (and /api/ready says why) until it is up.
 * The data converter is required: a client without the payload codec would write personal data in clear text and
 * could not read what the worker wrote (lib/data-converter.ts).
 */
export async function connectTemporalClient(opts: {
  address: string; namespace: string; tls?: TemporalTlsFiles | null; dataConverter: DataConverter;
}): Promise<Client> {
  const connection = Connection.lazy({
    address: opts.address,
    tls: temporalTlsConfig(opts.tls ?? null),
    connectTimeout: TEMPORAL_CALL_DEADLINE_MS,
    // After an outage gRPC waits up to two minutes between reconnect attempts by default; 5 s at most brings the
    // API back within seconds of Temporal.
    channelArgs: { 'grpc.initial_reconnect_backoff_ms': 500, 'grpc.max_reconnect_backoff_ms': 5_000 },
    interceptors: [deadlineInterceptor(), makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 3 }))],
  });
  return new Client({ connection, namespace: opts.namespace, dataConverter: opts.dataConverter });
}

/**
 * The TLS settings of a connection to Temporal (the API's and the worker's client, the worker's NativeConnection)
 * from the TEMPORAL_TLS_* files; undefined (plain gRPC) when none is set. A file that cannot be read is an error
 * naming its variable, so a process with a wrong path stops at start.
 */
export function temporalTlsConfig(files: TemporalTlsFiles | null): TLSConfig | undefined {
  if (!files) return undefined;
  const read = (variable: string, file: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  return {
    ...(files.serverName ? { serverNameOverride: files.serverName } : {}),
    ...(files.caPath ? { serverRootCACertificate: read('TEMPORAL_TLS_CA', files.caPath) } : {}),
    ...(files.certPath && files.keyPath
      ? { clientCertPair: { crt: read('TEMPORAL_TLS_CERT', files.certPath), key: read('TEMPORAL_TLS_KEY', files.keyPath) } }
      : {}),
  };
}

/**
 * Registers the search attributes the workflows set, if the namespace lacks them, and refuses one that exists
 * with another type. Attributes given on the dev server's command line only register when its database is new,
 * so the worker runs this at every start; several workers starting at once may race, which is harmless.
 */
export async function ensureSearchAttributes(
  connection: Pick<Connection, 'operatorService'>,
  namespace: string,
  wanted: Record<string, SearchAttributeTypeName> = searchAttributeTypes,
): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const existing = customAttributes ?? {};
  const missing: Record<string, number> = {};
  for (const [name, type] of Object.entries(wanted)) {
    const encoded = encodeSearchAttributeIndexedValueType(UPPER_CASE[type])!;
    if (!(name in existing)) missing[name] = encoded;
    else if (existing[name] !== encoded) {
      throw new Error(`search attribute ${name} exists in namespace ${namespace} with another type than ${type}`);
    }
  }
  if (Object.keys(missing).length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  } catch (err) {
    // Another worker registered them between our list and add.
    if (!/already exists/i.test(String((err as Error).message))) throw err;
  }
  return Object.keys(missing);
}
