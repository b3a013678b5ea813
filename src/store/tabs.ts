// Coordination between the tabs of the lab, which share one IndexedDB: one tab trains at a time
// (the Web Locks API: a second tab is told so at once instead of training over the first one's
// records, and can ask whether another tab trains), and a tab that changes the saved data, or
// starts or stops training, tells the others (a BroadcastChannel), which refresh their lists or
// their notice. Where a browser has neither API, a tab works alone as before.

/** The lock a tab holds while it trains. */
const TRAINING_LOCK = 'rlhf-lab-training';
const CHANNEL_NAME = 'rlhf-lab';

/** What another tab may have changed: the saved checkpoints, the demonstrations, rankings and prompts, or whether it trains. */
export type LabChange = 'checkpoints' | 'data' | 'training';

export const ANOTHER_TAB_TRAINING =
  'Another tab of the lab is training: wait for it to finish there (or close that tab), then train here.';

/** True while this tab holds the training lock. */
let trainingHere = false;

/**
 * Runs `task` holding the lab's training lock; throws ANOTHER_TAB_TRAINING at once when another
 * tab holds it. The other tabs are told when training starts and once the lock is released.
 */
export async function whileTraining<T>(task: () => Promise<T>): Promise<T> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return task();
  try {
    return await locks.request(TRAINING_LOCK, { ifAvailable: true }, async (lock) => {
      if (lock === null) throw new Error(ANOTHER_TAB_TRAINING);
      trainingHere = true;
      announceChange('training');
      try {
        return await task();
      } finally {
        trainingHere = false;
      }
    });
  } finally {
    announceChange('training');
  }
}

/** Whether another tab of the lab holds the training lock now. */
export async function anotherTabTraining(): Promise<boolean> {
  const locks = globalThis.navigator?.locks;
  if (!locks || trainingHere) return false;
  const { held = [] } = await locks.query();
  return held.some((lock) => lock.name === TRAINING_LOCK);
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
