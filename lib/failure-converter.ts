import { DefaultFailureConverter } from '@temporalio/common';

/**
 * The failure converter of every worker, client and workflow bundle (loaded by path: DataConverter's
 * failureConverterPath, bundleWorkflowCode's option). Failure messages and stack traces often name the person a
 * registry call was about, so they travel in the failure's encoded attributes, which the payload codec encrypts;
 * Temporal itself sees only "Encoded failure". Bundled into workflow code: imports nothing but @temporalio/common.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
