import type { LoadedDataConverter, Payload, PayloadConverter } from '@temporalio/common';
import {
  decode, visit, walkDescribeWorkflowExecutionResponse, walkGetWorkflowExecutionHistoryResponse,
} from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';

/**
 * Answers read straight from Temporal's workflow service (describe, history) carry payloads and failures as the
 * server stores them: encrypted (lib/payload-codec.ts), with failure messages replaced by "Encoded failure"
 * (lib/failure-converter.ts). The SDK decodes what its handles return, but not these raw answers, so the console,
 * the batch verification and the tests read them through these functions: every payload decrypted, and every
 * failure's message and stack trace put back from its encoded attributes. Payloads that were never encrypted
 * (histories older than encryption) pass unchanged. These answers are for display: a payload that cannot be
 * decrypted (its key already taken out of PAYLOAD_KEYS) stays as Temporal holds it, and its failure reads
 * "Encoded failure", rather than one such payload taking the whole stuck view down.
 */

type Described = temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse;
type History = temporal.api.history.v1.IHistory;

/** The describe answer with its payloads decrypted and its failures' messages readable (in place; returned). */
export async function decodeDescribed<T extends Described>(converter: LoadedDataConverter, described: T): Promise<T> {
  await decodeInPlace(converter, described, walkDescribeWorkflowExecutionResponse);
  return described;
}

/** The history with its payloads decrypted and its failures' messages readable (in place; returned). */
export async function decodeHistory<T extends History>(converter: LoadedDataConverter, history: T): Promise<T> {
  await decodeInPlace(converter, { history }, walkGetWorkflowExecutionHistoryResponse);
  return history;
}

async function decodeInPlace<Root>(
  converter: LoadedDataConverter, root: Root,
  walk: Parameters<typeof visit<Root, undefined>>[1],
): Promise<void> {
  const codecs = converter.payloadCodecs;
  const readable = async (payload: Payload): Promise<Payload> => {
    try {
      return (await decode(codecs, [payload]))[0] as Payload;
    } catch {
      return payload;
    }
  };
  await visit<Root, undefined>(root, walk, {
    transformPayload: readable,
    transformPayloads: async (payloads) => Promise.all(payloads.map(readable)),
    // As the SDK's own codec runner: headers and search attributes are never encoded.
    skipHeaders: true,
    skipSearchAttributes: true,
  });
  restoreFailureMessages(root, converter.payloadConverter, new WeakSet());
}

/**
 * Puts each failure's message and stack trace back from its (decoded) encoded attributes, as the SDK's failure
 * converter does when it turns a failure into an error. Walks the whole answer: failures sit in many event kinds.
 */
function restoreFailureMessages(node: unknown, payloadConverter: PayloadConverter, seen: WeakSet<object>): void {
  if (node === null || typeof node !== 'object' || ArrayBuffer.isView(node) || seen.has(node)) return;
  seen.add(node);
  const failure = node as { encodedAttributes?: Payload | null; message?: string | null; stackTrace?: string | null };
  if (failure.encodedAttributes?.metadata) {
    const attrs = readAttributes(payloadConverter, failure.encodedAttributes);
    if (attrs !== null && typeof attrs === 'object') {
      const { message, stack_trace: stackTrace } = attrs as { message?: unknown; stack_trace?: unknown };
      if (typeof message === 'string') failure.message = message;
      if (typeof stackTrace === 'string') failure.stackTrace = stackTrace;
    }
  }
  for (const value of Object.values(node)) restoreFailureMessages(value, payloadConverter, seen);
}

// The encoded attributes as the failure converter wrote them, or null when they are still encrypted (no key).
function readAttributes(payloadConverter: PayloadConverter, payload: Payload): unknown {
  try {
    return payloadConverter.fromPayload<unknown>(payload);
  } catch {
    return null;
  }
}
