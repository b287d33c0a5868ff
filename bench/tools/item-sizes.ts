/**
 * Average size of a usage-store item on the wire (DynamoDB JSON, what dynalite and the SDK parse) in
 * the service's format and in the compact prototype format, over the first N synthetic companies.
 * `npx tsx bench/tools/item-sizes.ts [companies]`
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import { packDays } from '../prototypes/compact-store';
import { tenantCompanies } from '../tenant';

const companies = Number(process.argv[2] ?? 500);
let items = 0;
let serviceBytes = 0;
let compactBytes = 0;
let dayEntries = 0;
const days = (m: ReadonlyMap<number, number>) => Object.fromEntries([...m].map(([d, ms]) => [String(d), ms]));
for (const { company, usage } of tenantCompanies({ companies, features: 20, days: 200, seed: 42, endAt: Date.UTC(2026, 10, 23, 12) })) {
  const key = { pk: 'ENV#bench-c5000-f20-d200-s42-e20261123', sk: 'C#' + Buffer.from(company.companyId).toString('hex') };
  const attrs = { ...company.attributes, name: company.name };
  // Binary values travel base64-encoded in DynamoDB JSON.
  const wire = (item: Record<string, unknown>) =>
    Buffer.byteLength(
      // (Buffer.prototype.toJSON runs before the replacer: it sees {type: 'Buffer', data: [...]}.)
      JSON.stringify(marshall(item, { removeUndefinedValues: true }), (_k, v: { type?: string; data?: number[] }) =>
        v?.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('base64') : v,
      ),
    );
  serviceBytes += wire({ ...key, companyId: company.companyId, firstSeen: company.firstSeen, seen: days(company.seenDays), attrs });
  compactBytes += wire({ ...key, companyId: company.companyId, firstSeen: company.firstSeen, seenDays: packDays(company.seenDays), attrs });
  items++;
  dayEntries += company.seenDays.size;
  for (const u of usage) {
    const base = { pk: key.pk, sk: `${key.sk}#U#${u.eventKey}`, eventKey: u.eventKey, firstUsed: u.firstUsed ?? undefined, feedback: u.feedback };
    serviceBytes += wire({ ...base, used: days(u.usedDays) });
    compactBytes += wire({ ...base, usedDays: packDays(u.usedDays) });
    items++;
    dayEntries += u.usedDays.size;
  }
}
console.log(
  `${items} items of ${companies} companies: ${(dayEntries / items).toFixed(1)} day entries per item; ` +
    `wire JSON ${(serviceBytes / items).toFixed(0)} bytes/item (service format) vs ${(compactBytes / items).toFixed(0)} bytes/item (compact), ` +
    `x${(serviceBytes / compactBytes).toFixed(2)}`,
);
