// Interactive requests before background jobs in the worker. A person waiting on a request (Score
// on the Reward-model panel) runs it inside `interactively`; a long background job (the comparisons
// the reward model gets wrong) awaits `afterInteractive()` between its chunks of GPU work, so a
// request that arrives mid-job waits for one chunk at most, not for the whole job.

let interactiveRequests = 0;
const waiting: (() => void)[] = [];

/** Runs a request a person is waiting for; background jobs hold back until it ends. */
export async function interactively<R>(request: () => Promise<R>): Promise<R> {
  interactiveRequests += 1;
  try {
    return await request();
  } finally {
    interactiveRequests -= 1;
    if (interactiveRequests === 0) waiting.splice(0).forEach((resume) => resume());
  }
}

/** Resolves once no interactive request is in progress (at once when none is). */
export function afterInteractive(): Promise<void> {
  if (interactiveRequests === 0) return Promise.resolve();
  return new Promise((resume) => waiting.push(resume));
}
