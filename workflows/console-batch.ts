import { defineQuery, log, patched, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ConsoleAdmin, ConsoleBatchAction, ConsoleBatchCounts } from '../activities/console';

/** What an administrator asked for: one action over a fixed set of workflows (the preview's set, recomputed). */
export interface ConsoleBatchInput {
  /** The console_batches row (its items are the workflow ids below). */
  batchId: string;
  action: ConsoleBatchAction;
  /** The administrator's reason: audited, and part of every termination reason. */
  reason: string;
  workflowIds: string[];
  admin: ConsoleAdmin;
  /** How long to let the workflows run before the first check whether their failure cleared (default 5 s). */
  verifyAfterMs?: number;
}

/** What the batch did: commands accepted or not, and whether each workflow's failure actually cleared. */
export type ConsoleBatchResult = ConsoleBatchCounts;

/** Where a batch is, for anyone asking Temporal rather than the batch page. */
export interface ConsoleBatchProgress {
  phase: 'applying' | 'cleaning' | 'verifying' | 'finished';
  chunksDone: number;
  chunks: number;
  verifyRound: number;
}

/** The batch's progress. */
export const consoleBatchProgressQuery = defineQuery<ConsoleBatchProgress>('consoleBatchProgress');

/** Workflows per applyConsoleAction call (and per audit row). */
export const CONSOLE_BATCH_CHUNK = 10;
/** Still-failing workflows are checked again this many times, at twice the previous wait each time. */
export const CONSOLE_BATCH_REVERIFY = 3;
const VERIFY_PAGE = 100;
/** Version marker: batches that close the read model of the workflows they terminate (issue 11). */
const PATCH_CLEAN_UP_TERMINATED = 'console-batch-clean-up-terminated';

// Temporal answers in milliseconds; a chunk is 10 describe + reset calls. Retried until Temporal answers again:
// every item moves from pending once, so a retry only does what the previous attempt did not.
const consoleActivities = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * A batch retry or terminate from the administrators' console: the action is applied chunk by chunk (each chunk
 * audited), then the workflows are given a moment and checked: a failure that cleared is recorded as such, one
 * still failing is checked again at growing intervals, and the batch is marked finished.
 */
export async function consoleBatch(input: ConsoleBatchInput): Promise<ConsoleBatchResult> {
  const chunks = Math.ceil(input.workflowIds.length / CONSOLE_BATCH_CHUNK);
  const progress: ConsoleBatchProgress = { phase: 'applying', chunksDone: 0, chunks, verifyRound: 0 };
  setHandler(consoleBatchProgressQuery, () => progress);

  await applyAction(input, progress);
  // Terminate runs no workflow code: the batch closes each terminated workflow's read model itself (a cancelled
  // workflow does so in its own cancellation scope). Batches from before this version ended without it.
  if (input.action === 'terminate' && patched(PATCH_CLEAN_UP_TERMINATED)) {
    progress.phase = 'cleaning';
    await cleanUp(input);
  }
  progress.phase = 'verifying';
  await verify(input, progress);
  progress.phase = 'finished';
  const counts = await consoleActivities.finishConsoleBatch({ batchId: input.batchId });
  log.info('console batch finished', { batchId: input.batchId, action: input.action, ...counts });
  return counts;
}

/** Applies the action, one chunk at a time. */
async function applyAction(input: ConsoleBatchInput, progress: ConsoleBatchProgress): Promise<void> {
  for (let chunk = 0; chunk < progress.chunks; chunk += 1) {
    const workflowIds = input.workflowIds.slice(chunk * CONSOLE_BATCH_CHUNK, (chunk + 1) * CONSOLE_BATCH_CHUNK);
    await consoleActivities.applyConsoleAction({
      batchId: input.batchId, action: input.action, reason: input.reason, admin: input.admin, chunk, workflowIds,
    });
    progress.chunksDone = chunk + 1;
  }
}

/** Closes the read model of every terminated item, a page at a time. */
async function cleanUp(input: ConsoleBatchInput): Promise<void> {
  let after: string | null = null;
  do {
    const page: { next: string | null } = await consoleActivities.cleanUpConsoleItems({ batchId: input.batchId, after, limit: VERIFY_PAGE });
    after = page.next;
  } while (after !== null);
}

/** Checks every item after a pause; re-checks the still-failing ones up to CONSOLE_BATCH_REVERIFY times. */
async function verify(input: ConsoleBatchInput, progress: ConsoleBatchProgress): Promise<void> {
  const firstWait = Math.max(1, input.verifyAfterMs ?? 5_000);
  for (let round = 0; round <= CONSOLE_BATCH_REVERIFY; round += 1) {
    progress.verifyRound = round;
    await sleep(firstWait * 2 ** round);
    let stillFailing = 0;
    let after: string | null = null;
    do {
      const page: { next: string | null; stillFailing: number } = await consoleActivities.verifyConsoleItems({
        batchId: input.batchId, action: input.action, after, limit: VERIFY_PAGE,
      });
      stillFailing += page.stillFailing;
      after = page.next;
    } while (after !== null);
    if (stillFailing === 0) return;
  }
}
