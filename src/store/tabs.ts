// Coordination between the tabs of the lab, which share one IndexedDB: one tab trains at a time
// (the Web Locks API: a second tab is told so at once instead of training over the first one's
// records), and a tab that changes the saved data tells the others (a BroadcastChannel), which
// refresh their lists. Where a browser has neither API, a tab works alone as before.

/** The lock a tab holds while it trains. */
const TRAINING_LOCK = 'rlhf-lab-training';
const CHANNEL_NAME = 'rlhf-lab';

/** What another tab may have changed: the saved checkpoints and runs, or the demonstrations, rankings and prompts. */
export type LabChange = 'checkpoints' | 'data';

export const ANOTHER_TAB_TRAINING = 'Another tab of the lab is training: wait for it to finish there (or close that tab), then train here.';

/** Runs `task` holding the lab's training lock; throws ANOTHER_TAB_TRAINING at once when another tab holds it. */
export async function whileTraining<T>(task: () => Promise<T>): Promise<T> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return task();
  return locks.request(TRAINING_LOCK, { ifAvailable: true }, async (lock) => {
    if (lock === null) throw new Error(ANOTHER_TAB_TRAINING);
    return task();
  });
}

let channel: BroadcastChannel | undefined;
const listeners = new Set<(change: LabChange) => void>();

/** The tab's one channel (a channel does not hear its own messages, so this tab is never told of its own changes). */
function labChannel(): BroadcastChannel | undefined {
  if (channel || typeof BroadcastChannel === 'undefined') return channel;
  channel = new BroadcastChannel(CHANNEL_NAME);
  channel.onmessage = (event: MessageEvent<LabChange>) => listeners.forEach((listener) => listener(event.data));
  return channel;
}

/** Tells the lab's other tabs that this tab changed the saved data. */
export function announceChange(change: LabChange): void {
  labChannel()?.postMessage(change);
}

/** Calls `listener` when another tab announces a change; returns the function that stops it. */
export function onOtherTabChange(listener: (change: LabChange) => void): () => void {
  labChannel();
  listeners.add(listener);
  return () => listeners.delete(listener);
}
