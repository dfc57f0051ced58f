import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { DependencyUnavailableError, neverReachedTemporal, unreachableDependency } from '../../lib/dependency-errors';
import type { ApiDeps } from '../deps';

/**
 * Starting a workflow when the answer may be lost. Every start the API makes has a deterministic workflow id and
 * the USE_EXISTING conflict policy, so asking again is safe: it joins the workflow if the first start made it.
 */

/** How long a start whose answer was lost is given to be confirmed (after Temporal's own call deadline). */
export const CONFIRM_START_MS = 1_200;

/** What became of a start: it ran, it surely did not, the id belongs to a finished workflow, or nobody can tell now. */
export type StartOutcome =
  | { outcome: 'started' }
  | { outcome: 'finished_before' }
  | { outcome: 'not_started'; error: unknown }
  | { outcome: 'unknown'; error: unknown };

/**
 * Runs `start`; when its answer is lost (a deadline passed, a connection dropped after sending), confirms it by
 * starting again within CONFIRM_START_MS, and by `confirmedBy` (e.g. the worker writing the case row), whichever
 * says so first.
 */
export async function startWorkflow(deps: ApiDeps, start: () => Promise<unknown>, opts: { confirmedBy?: (until: number) => Promise<boolean> } = {}): Promise<StartOutcome> {
  try {
    await start();
    return { outcome: 'started' };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { outcome: 'finished_before' };
    // Anything but "no answer from Temporal" (a refused request, our bug) is the caller's error as it is.
    if (unreachableDependency(error) !== 'temporal') throw error;
    if (neverReachedTemporal(error)) return { outcome: 'not_started', error };
    const until = Date.now() + CONFIRM_START_MS;
    const again = deps.temporal.connection.withDeadline(until, start)
      .then(() => true, (err) => err instanceof WorkflowExecutionAlreadyStartedError);
    const other = opts.confirmedBy ? opts.confirmedBy(until) : Promise.resolve(false);
    const confirmed = await Promise.race([again.then((yes) => yes || other), other.then((yes) => yes || again)]);
    if (!confirmed) return { outcome: 'unknown', error };
    deps.logger.warn('workflow start confirmed after its answer was lost', { error: String((error as Error)?.message ?? error) });
    return { outcome: 'started' };
  }
}

/** The answer to a start that did not (surely) happen: 503 naming Temporal. */
export function startFailed(result: { error: unknown }, what: string): DependencyUnavailableError {
  return new DependencyUnavailableError('temporal', `${what} could not be started`, { cause: result.error });
}
