import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { PostureReport } from './assessment.ts';
import { csvCell, renderCsv, renderHtml, renderMarkdown } from './report-render.ts';

const report = (model: string): PostureReport => ({
  generatedAt: '2026-09-15T00:00:00.000Z',
  summary: {
    devices: 1,
    findings: 0,
    suppressed: 0,
    byBand: { critical: 0, high: 0, medium: 0, low: 1 },
    endOfSupportWarnings: 0,
    legacyDevices: 0,
  },
  devices: [
    {
      id: 'd1',
      model,
      serial: 's',
      status: 'active',
      firmware: '1.0',
      patientAssigned: true,
      zone: 'clinical',
      connection: 'mtls',
      internetReachable: false,
      lastSeen: null,
      certificateExpires: null,
      manufacturer: 'M',
      criticality: 'monitoring',
      capabilities: null,
      support: { state: 'unknown', daysLeft: null },
      hasSbom: false,
      risk: {
        score: 4,
        band: 'low',
        parts: [{ factor: 'exposure', points: 4, why: 'in the clinical network zone' }],
        multiplier: { value: 1, why: 'monitoring device (x1)' },
      },
      findings: [],
      suppressed: [],
      warnings: [],
      recommendation: { action: 'none', steps: [] },
    },
  ],
});

describe('report rendering', () => {
  it('escapes HTML and never lets a model name become markup', () => {
    fc.assert(
      fc.property(fc.string(), (raw) => {
        // Fenced, so a name like "<" is not found inside the report's own tags.
        const name = `ZQX${raw}XQZ`;
        const html = renderHtml(report(name));
        if (/[<>&]/.test(raw)) assert.ok(!html.includes(name));
      }),
    );
    assert.ok(renderHtml(report('<script>x</script>')).includes('&#60;script&#62;'));
  });

  it('quotes CSV per RFC 4180 and defuses spreadsheet formulas', () => {
    assert.equal(csvCell('a,"b"'), '"a,""b"""');
    assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    const csv = renderCsv(report('@SUM(A1)'));
    assert.ok(csv.includes("'@SUM(A1)"));
    assert.equal(csv.split('\r\n')[0]!.split(',').length, csv.split('\r\n')[1]!.split(',').length);
  });

  it('calls a device past end of support that, not "legacy", apart from a legacy-secret connection', () => {
    const r = report('InfuPro 300');
    const [d] = r.devices;
    assert.ok(d);
    // A device profiled with the legacy secret, still supported: not counted in the summary.
    r.devices = [{ ...d, connection: 'legacy', support: { state: 'supported', daysLeft: 400 } }];
    for (const text of [renderMarkdown(r), renderHtml(r)]) {
      assert.match(text, /1 devices, .* 0 end-of-support warnings, 0 past end of support\./);
      assert.match(text, /legacy secret; supported/);
      assert.doesNotMatch(text, /legacy devices/);
    }
    r.devices = [{ ...d, support: { state: 'legacy', daysLeft: -200 } }];
    r.summary = { ...r.summary, legacyDevices: 1 };
    for (const text of [renderMarkdown(r), renderHtml(r)]) {
      assert.match(text, /, 1 past end of support\./);
      assert.match(text, /mTLS; past end of support \(ended 200 days ago\)/);
    }
    // The data formats keep the state's name: integrations read it.
    assert.match(renderCsv(r).split('\r\n')[1] ?? '', /,mtls,legacy,/);
  });

  it('explains each device score in Markdown', () => {
    const md = renderMarkdown(report('Nonin 3230'));
    assert.match(md, /## d1 — low \(4\)/);
    assert.match(md, /Why: exposure \+4: in the clinical network zone; monitoring device \(x1\)/);
  });
});
