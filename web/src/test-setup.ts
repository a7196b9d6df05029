import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';

afterEach(() => cleanup());
// Screens behind React.lazy load on first use; a busy machine needs more than the default 1 s.
configure({ asyncUtilTimeout: 5000 });

/**
 * Fakes for what jsdom does not have: a 2D canvas context that draws nothing (uPlot lays out
 * and "draws" through it) and matchMedia (uPlot watches the device pixel ratio). Real drawing
 * is checked in Chromium by test/dashboard-e2e.test.ts.
 */
const noop = () => undefined;
const fakeContext = new Proxy(
  {},
  {
    get: (_t, name) => {
      if (name === 'measureText') return () => ({ width: 0 });
      if (name === 'canvas') return undefined;
      return noop;
    },
    set: () => true,
  },
);
HTMLCanvasElement.prototype.getContext = (() => fakeContext) as unknown as HTMLCanvasElement['getContext'];
if (!window.matchMedia) {
  window.matchMedia = ((query: string) => ({
    matches: false,
    media: query,
    onchange: null,
    addListener: noop,
    removeListener: noop,
    addEventListener: noop,
    removeEventListener: noop,
    dispatchEvent: () => false,
  })) as unknown as typeof window.matchMedia;
}
if (typeof globalThis.Path2D === 'undefined') {
  // uPlot builds its line paths as Path2D objects; these record nothing.
  globalThis.Path2D = class {
    moveTo = noop;
    lineTo = noop;
    rect = noop;
    arc = noop;
    closePath = noop;
    bezierCurveTo = noop;
    addPath = noop;
  } as unknown as typeof Path2D;
}
