import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCsaf } from './advisory-csaf.ts';

const pid = (i: number) => `CSAFPID-${i}`;

function csaf(products: number, flags: unknown[]): unknown {
  return {
    document: {
      csaf_version: '2.0',
      title: 'Infusion pump advisory',
      tracking: { id: 'ACME-2025-01', current_release_date: '2025-01-01T00:00:00Z' },
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
        flags,
      },
    ],
  };
}

/** An array that counts how often its items are read. */
function countingReads<T>(items: T[]): { list: T[]; reads: () => number } {
  let reads = 0;
  const list = new Proxy(items, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
      return Reflect.get(target, key, receiver);
    },
  });
  return { list, reads: () => reads };
}

describe('CSAF flags', () => {
  it('gives each not-affected product the label of the first flag that names it', () => {
    const { vex } = parseCsaf(
      csaf(3, [
        { label: 'component_not_present', product_ids: [pid(0)] },
        { label: 42, product_ids: [pid(1)] },
        { label: 'vulnerable_code_not_present', product_ids: [pid(0), pid(1)] },
      ]),
    );
    assert.deepEqual(
      vex.map((s) => [s.firmware, s.justification]),
      [
        ['1.0', 'component_not_present (ACME-2025-01)'],
        ['1.1', 'vulnerable_code_not_present (ACME-2025-01)'],
        ['1.2', 'known not affected (ACME-2025-01)'],
      ],
    );
  });

  it('reads each flag product id once, however many products the advisory names', () => {
    const products = 2_000;
    const ids = countingReads(Array.from({ length: products }, (_, i) => pid(i)));
    const { vex } = parseCsaf(csaf(products, [{ label: 'component_not_present', product_ids: ids.list }]));
    assert.equal(vex.length, products);
    assert.ok(vex.every((s) => s.justification === 'component_not_present (ACME-2025-01)'));
    assert.equal(ids.reads(), products);
  });
});
