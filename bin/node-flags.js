// V8 flags for every Vigil process (bin/vigil.js, and the benchmark's `vigil serve`).
//
// A young generation of up to 64 MB per semi-space: ingest allocates a few KB per message
// (packets, JSON, readings), and with V8's default the event loop ran minor GCs for 106–166 ms
// of every second at peak; with 64 MB, 53–68 ms, and the peak rose ~5% (`npm run bench`,
// 2026-11-27). V8 grows the young generation only under such load, so an idle server does not
// hold the memory.
export const NODE_FLAGS = ['--max-semi-space-size=64'];
