// The worker's priority gate: a background job that awaits afterInteractive() between its chunks
// lets a request run inside interactively() go first, and goes on once it ends.
import { describe, expect, it } from 'vitest';
import { afterInteractive, interactively } from '../../../workers/priority.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('interactive requests before background jobs', () => {
  it('holds a background chunk while a request runs, and releases it when the request ends', async () => {
    const log: string[] = [];
    let finishRequest!: () => void;
    const request = interactively(async () => {
      log.push('request started');
      await new Promise<void>((resolve) => (finishRequest = resolve));
      log.push('request done');
    });
    const chunk = afterInteractive().then(() => log.push('background chunk'));
    await tick();
    expect(log).toEqual(['request started']);
    finishRequest();
    await Promise.all([request, chunk]);
    expect(log).toEqual(['request started', 'request done', 'background chunk']);
  });

  it('lets a background chunk go at once when no request runs, and after a failed request', async () => {
    await expect(afterInteractive()).resolves.toBeUndefined();
    await expect(interactively(() => Promise.reject(new Error('no reward model')))).rejects.toThrow('no reward model');
    await expect(afterInteractive()).resolves.toBeUndefined();
  });
});
