// Vitest hooks the browser tests share: the built app served and a headless Chromium launched for
// the enclosing file (or describe block), both closed when it ends. Kept apart from harness.ts,
// which tools/screenshots.ts also imports outside Vitest.
import { afterAll, beforeAll } from 'vitest';
import type { Browser } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { launchChromium, startPreviewServer } from './harness.ts';

/** Serves dist/ while the enclosing block's tests run; read `url` inside a test. */
export function useServedApp(): { readonly url: string } {
  let served: { server: PreviewServer; url: string } | undefined;
  beforeAll(async () => {
    served = await startPreviewServer();
  });
  afterAll(async () => {
    await served?.server.close();
  });
  return {
    get url() {
      if (!served) throw new Error('the app is served only while the tests run');
      return served.url;
    },
  };
}

/** Launches Debian's Chromium, with or without WebGPU, for the enclosing block's tests. */
export function useChromium(options: { webgpu: boolean }): { readonly browser: Browser } {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium(options);
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    get browser() {
      if (!browser) throw new Error('Chromium runs only while the tests run');
      return browser;
    },
  };
}

/** The served app and a Chromium for it: what most browser test files need. */
export function useLab(options: { webgpu: boolean }): { readonly url: string; readonly browser: Browser } {
  const app = useServedApp();
  const chromium = useChromium(options);
  return {
    get url() {
      return app.url;
    },
    get browser() {
      return chromium.browser;
    },
  };
}
