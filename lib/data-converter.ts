import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec, type PayloadKeyring } from './payload-codec';

/** The file whose `failureConverter` every worker, client and workflow bundle uses (see lib/failure-converter.ts). */
export const failureConverterPath = require.resolve('./failure-converter');

/**
 * The data converter of every Temporal client and worker of this system: payloads encrypted with the keyring's
 * current key (lib/payload-codec.ts), failure messages and stack traces among them. The workflow bundle must be
 * built with the same failure converter: pass workflowBundleOptions to bundleWorkflowCode.
 */
export function createDataConverter(keyring: PayloadKeyring): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(keyring)], failureConverterPath };
}

/** What bundleWorkflowCode needs so that workflow code encodes its failures as the worker does. */
export const workflowBundleOptions = { failureConverterPath } as const;
