/**
 * How SBOM and CSAF parsing scale with document size (one upload must never hold the event
 * loop for long). Run alone: `node --import tsx bench/posture-parse-scaling.ts`.
 *
 * 1. parseSbom on CycloneDX 1.5 JSON SBOMs of 5,000, 20,000 and 50,000 components (the cap).
 * 2. parseCsaf on one vulnerability naming 90,000 products as known_not_affected, with flags.
 */
import { parseCsaf } from '../src/posture/advisory-csaf.ts';
import { parseSbom } from '../src/posture/sbom.ts';

function cycloneDx(components: number): string {
  return JSON.stringify({
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    components: Array.from({ length: components }, (_, i) => ({
      type: 'library',
      'bom-ref': `pkg:npm/pkg${i}@1.0.${i % 50}`,
      name: `pkg${i}`,
      version: `1.0.${i % 50}`,
      purl: `pkg:npm/pkg${i}@1.0.${i % 50}`,
    })),
  });
}

function csaf(products: number): unknown {
  const pid = (i: number) => `CSAFPID-${i}`;
  return {
    document: {
      csaf_version: '2.0',
      title: 'Bench',
      tracking: { id: 'BENCH-1', current_release_date: '2025-01-01T00:00:00Z' },
    },
    product_tree: {
      branches: [
        {
          category: 'vendor',
          name: 'Acme',
          branches: Array.from({ length: products }, (_, i) => ({
            category: 'product_version',
            name: `1.${i}`,
            product: { product_id: pid(i), name: `Pump 1.${i}` },
          })),
        },
      ],
    },
    vulnerabilities: [
      {
        cve: 'CVE-2025-0001',
        product_status: { known_not_affected: Array.from({ length: products }, (_, i) => pid(i)) },
        flags: [
          {
            label: 'component_not_present',
            product_ids: Array.from({ length: products / 2 }, (_, i) => pid(2 * i)),
          },
          {
            label: 'vulnerable_code_not_present',
            product_ids: Array.from({ length: products / 2 }, (_, i) => pid(2 * i + 1)),
          },
        ],
      },
    ],
  };
}

// The first CycloneDX upload compiles the schema; measured apart from the scaling runs.
const warm = performance.now();
await parseSbom(cycloneDx(10));
console.log(`schema compile + first parse: ${(performance.now() - warm).toFixed(0)} ms`);
const sizes = process.argv.includes('--quick') ? [5_000] : [5_000, 20_000, 50_000];
for (const n of sizes) {
  const text = cycloneDx(n);
  const t0 = performance.now();
  const sbom = await parseSbom(text);
  const ms = performance.now() - t0;
  console.log(
    `parseSbom ${n} components (${(text.length / 1e6).toFixed(1)} MB): ${ms.toFixed(0)} ms, ${sbom.components.length} read`,
  );
}
const doc = csaf(90_000);
const bytes = JSON.stringify(doc).length;
const t1 = performance.now();
const parsed = parseCsaf(doc);
console.log(
  `parseCsaf 90000 product ids (${(bytes / 1e6).toFixed(1)} MB): ${(performance.now() - t1).toFixed(0)} ms, ${parsed.vex.length} statements`,
);
