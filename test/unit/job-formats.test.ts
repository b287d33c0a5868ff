/**
 * The four contents of export-job files (`eventFormat`, `profileFormat`, docs/export-job-files.md
 * "Content") written row by row as the chunker drives them (`encode`, `add`, `take`, `finish`) and
 * parsed back: the column types collected from the rows, XML's optional elements and empty values,
 * profile files in each format, Parquet's schema, values and row groups, and the sizes the chunker
 * counts. Also the parts of file names and identities no run exercises.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import {
  eventFileKey,
  prioritizedProfile,
  type ExportedEvent,
  type ExportedProfile,
  type ExportedUserProfile,
} from '../../lambdas/core/export/job-files';
import {
  eventFormat,
  profileFormat,
  propertyColumnNames,
  PropertyColumnsCollector,
  type PropertyColumns,
  type RowFormat,
} from '../../lambdas/core/export/job-formats';
import type { JsonValue } from '../../lambdas/core/raw-log';
import { parquetFileMetadata, parquetRows, parquetTypes, xmlEntries, xmlFile } from '../support/export-job-read';

const AT = Date.UTC(2026, 10, 22, 10, 30, 0);

/** One whole file of the rows: what `take` handed out as it went, then `finish`. */
function written<Row>(format: RowFormat<Row>, rows: Row[]): { bytes: Buffer; taken: number } {
  const file = format.open();
  const parts: Buffer[] = [];
  let taken = 0;
  const keep = (part: string | Uint8Array) =>
    parts.push(typeof part === 'string' ? Buffer.from(part) : Buffer.from(part));
  for (const row of rows) {
    file.add(file.encode(row));
    const ready = file.take();
    if (ready !== undefined) {
      taken++;
      keep(ready);
    }
  }
  keep(file.finish());
  return { bytes: Buffer.concat(parts), taken };
}

const columnsOf = (rows: Record<string, JsonValue>[], asString = false): PropertyColumns => {
  const collector = new PropertyColumnsCollector(asString);
  for (const row of rows) collector.see(row);
  return collector.columns();
};

const event = (properties: Record<string, JsonValue>, profile: ExportedProfile = {}, at = AT): ExportedEvent => ({
  name: 'e',
  timestamp: at,
  profile,
  properties,
});

const user = (attributes: Record<string, JsonValue>, profile: ExportedProfile = {}): ExportedUserProfile => ({
  profile,
  attributes,
});

describe('the property columns', () => {
  it('are the keys sorted, typed number or boolean when every value is, else text; null values do not count', () => {
    const columns = columnsOf([
      { n: 1, flag: true, mixed: 1, late: null, nulls: null, text: 'x', lastNull: 1 },
      { n: null, flag: null, mixed: true, late: 2, nulls: null, b: { o: 1 } },
      { n: 2.5, flag: false, mixed: 3, lastNull: null },
    ]);
    expect(columns.keys).toEqual(['b', 'flag', 'lastNull', 'late', 'mixed', 'n', 'nulls', 'text']);
    expect(Object.fromEntries(columns.types)).toEqual({
      b: 'text',
      flag: 'boolean',
      lastNull: 'number',
      late: 'number',
      mixed: 'text',
      n: 'number',
      nulls: 'text',
      text: 'text',
    });
  });

  it('are all text with asString', () => {
    const columns = columnsOf([{ n: 1, flag: true, text: 'x' }], true);
    expect(Object.fromEntries(columns.types)).toEqual({ flag: 'text', n: 'text', text: 'text' });
  });
});

describe('the property column names', () => {
  it('are the keys, unless a fixed or earlier column has the name in any case: then the JSON path, then a number', () => {
    expect(propertyColumnNames(['identity', 'email'], ['a', 'b'], 'eventProps')).toEqual(['a', 'b']);
    expect(
      propertyColumnNames(
        ['ts', 'identity', 'email'],
        ['EMAIL', 'Name', 'eventProps.name', 'name', 'ts'],
        'eventProps',
      ),
    ).toEqual(['eventProps.EMAIL', 'Name', 'eventProps.name', 'eventProps.name_2', 'eventProps.ts']);
    expect(propertyColumnNames(['email'], ['email'], 'profileProps')).toEqual(['profileProps.email']);
    expect(propertyColumnNames(['x', 'eventProps.x', 'EVENTPROPS.X_2'], ['x'], 'eventProps')).toEqual([
      'eventProps.x_3',
    ]);
  });

  it('name the CSV header and the Parquet schema, each name once, the values under their own key', async () => {
    const rows = [user({ email: 'attr@b.c', Phone: 7 }, { identity: 'u1', email: 'a@b.c' })];
    const columns = columnsOf(rows.map((row) => row.attributes));
    const csv = written(profileFormat('csv', { asString: false, columns }), rows);
    expect(parseCsv(csv.bytes.toString())).toEqual([
      ['identity', 'email', 'phone', 'profileProps.Phone', 'profileProps.email'],
      ['u1', 'a@b.c', '', '7', 'attr@b.c'],
    ]);
    const parquet = written(profileFormat('parquet', { asString: false, columns }), rows);
    expect(parquetTypes(parquet.bytes)).toEqual({
      identity: 'BYTE_ARRAY',
      email: 'BYTE_ARRAY',
      phone: 'BYTE_ARRAY',
      'profileProps.Phone': 'DOUBLE',
      'profileProps.email': 'BYTE_ARRAY',
    });
    expect(await parquetRows(parquet.bytes)).toEqual([
      { identity: 'u1', email: 'a@b.c', phone: null, 'profileProps.Phone': 7, 'profileProps.email': 'attr@b.c' },
    ]);
    const events = [event({ eventName: 'x', ts: 1 }, { identity: 'u1' })];
    const eventColumns = columnsOf(events.map((row) => row.properties));
    const eventHeader = ['ts', 'eventName', 'identity', 'email', 'phone', 'eventProps.eventName', 'eventProps.ts'];
    for (const format of ['csv', 'parquet'] as const) {
      const { bytes } = written(
        eventFormat(format, { eventName: 'e', asString: false, columns: eventColumns }),
        events,
      );
      expect(format === 'csv' ? parseCsv(bytes.toString())[0] : Object.keys(parquetTypes(bytes))).toEqual(eventHeader);
    }
  });
});

describe('text files', () => {
  it('count their bytes as the chunker needs: header and trailer from the start, then each row', () => {
    const file = eventFormat('xml', { eventName: 'e', asString: false, columns: columnsOf([]) }).open();
    const empty = file.finish();
    const opened = eventFormat('xml', { eventName: 'e', asString: false, columns: columnsOf([]) }).open();
    expect(opened.size).toBe(Buffer.byteLength(empty as string));
    const encoded = opened.encode(event({ text: 'é 🎉' }));
    opened.add(encoded);
    const whole = opened.finish() as string;
    expect(encoded.bytes).toBe(Buffer.byteLength(whole) - Buffer.byteLength(empty as string));
  });

  it('hand their output out once 64 KiB of text is waiting, and keep the rest for the end', () => {
    const format = profileFormat('json', { asString: false, columns: columnsOf([]) });
    const file = format.open();
    const line = (text: string) => user({ p: text });
    const frame = file.encode(line('')).bytes;
    file.add(file.encode(line('x')));
    expect(file.take()).toBeUndefined();
    // Exactly 65,536 characters in waiting: handed out.
    file.add(file.encode(line('y'.repeat(65_536 - frame - (frame + 1)))));
    const taken = file.take() as string;
    expect(taken.length).toBe(65_536);
    expect(file.take()).toBeUndefined();
    file.add(file.encode(line('z')));
    expect(taken + (file.finish() as string)).toBe(
      [line('x'), line('y'.repeat(65_536 - 2 * frame - 1)), line('z')]
        .map((row) => JSON.stringify({ profile: row.profile, profileProps: row.attributes }) + '\n')
        .join(''),
    );
  });

  it('have their content types', () => {
    const options = { eventName: 'e', asString: false, columns: columnsOf([]) };
    const types = (['json', 'xml', 'csv', 'parquet'] as const).map((name) => [
      eventFormat(name, options).contentType,
      profileFormat(name, options).contentType,
    ]);
    expect(types).toEqual([
      ['application/x-ndjson', 'application/x-ndjson'],
      ['application/xml', 'application/xml'],
      ['text/csv; charset=utf-8', 'text/csv; charset=utf-8'],
      ['application/vnd.apache.parquet', 'application/vnd.apache.parquet'],
    ]);
  });
});

describe('XML', () => {
  it('has a profile element per known field, and empty values for null', () => {
    const format = eventFormat('xml', { eventName: 'e', asString: false, columns: columnsOf([]) });
    const { bytes } = written(format, [
      {
        ...event({ none: null, list: [1, 'a'] }, { identity: 'u1', email: 'a@b.c', phone: '+33' }),
        deviceInfo: { os: null },
      },
      event({}, { phone: '+33' }),
      event({}, {}),
    ]);
    const text = bytes.toString();
    expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<Events>\n<Event><ts>20261122103000</ts>')).toBe(
      true,
    );
    expect(text.endsWith('</Event>\n</Events>\n')).toBe(true);
    const [first, second, third] = xmlFile(text).Events.Event;
    expect(first.profile).toEqual({ identity: 'u1', email: 'a@b.c', phone: '+33' });
    expect(xmlEntries(first.eventProps)).toEqual({ none: '', list: '[1,"a"]' });
    expect(xmlEntries(first.deviceInfo)).toEqual({ os: '' });
    expect(second.profile).toEqual({ phone: '+33' });
    expect(third.profile).toBe('');
    expect(text).toContain('<profile></profile><deviceInfo></deviceInfo><eventProps></eventProps>');
  });

  it('writes profiles: their profile and attributes, nested values as JSON text', () => {
    const rows = [
      user({ plan: 'pro', seats: 3, o: { a: 1 } }, { identity: 'u1', email: 'a@b.c' }),
      user({}, { phone: '+33' }),
    ];
    const plain = written(profileFormat('xml', { asString: false, columns: columnsOf([]) }), rows).bytes.toString();
    expect(plain.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<Profiles>\n<Profile>')).toBe(true);
    expect(plain.endsWith('</Profile>\n</Profiles>\n')).toBe(true);
    const [first, second] = xmlFile(plain).Profiles.Profile;
    expect(first.profile).toEqual({ identity: 'u1', email: 'a@b.c' });
    expect(xmlEntries(first.profileProps)).toEqual({ plan: 'pro', seats: '3', o: '{"a":1}' });
    expect(second.profile).toEqual({ phone: '+33' });
    expect(xmlEntries(second.profileProps)).toEqual({});
  });
});

describe('CSV', () => {
  it('writes empty cells for missing and null values, and profiles with their attribute columns', () => {
    const eventRows = [event({ a: 1, b: null }, { identity: 'u1' }), event({ c: true }, { email: 'a@b.c' })];
    const events = written(
      eventFormat('csv', {
        eventName: 'e',
        asString: false,
        columns: columnsOf(eventRows.map((row) => row.properties)),
      }),
      eventRows,
    );
    expect(parseCsv(events.bytes.toString())).toEqual([
      ['ts', 'eventName', 'identity', 'email', 'phone', 'a', 'b', 'c'],
      ['2026-11-22T10:30:00.000Z', 'e', 'u1', '', '', '1', '', ''],
      ['2026-11-22T10:30:00.000Z', 'e', '', 'a@b.c', '', '', '', 'true'],
    ]);
    const profileRows = [user({ plan: 'pro', seats: 3 }, { identity: 'u1', phone: '33' }), user({ o: { a: [1] } })];
    const profiles = written(
      profileFormat('csv', { asString: false, columns: columnsOf(profileRows.map((row) => row.attributes)) }),
      profileRows,
    );
    expect(parseCsv(profiles.bytes.toString())).toEqual([
      ['identity', 'email', 'phone', 'o', 'plan', 'seats'],
      ['u1', '', '33', '', 'pro', '3'],
      ['', '', '', '{"a":[1]}', '', ''],
    ]);
  });
});

describe('Parquet', () => {
  const parquetEvents = (rows: ExportedEvent[], asString = false) =>
    written(
      eventFormat('parquet', {
        eventName: 'e',
        asString,
        columns: columnsOf(
          rows.map((row) => row.properties),
          asString,
        ),
      }),
      rows,
    );

  it("has the fixed columns, then each property typed by the run's columns", async () => {
    const rows = [
      event({ n: 1, flag: true, mixed: 1, text: 'x' }, { identity: 'u1', email: 'a@b.c', phone: '+33' }),
      event({ n: 2.5, flag: false, mixed: { o: [1] } }, {}, AT + 1),
      event({ mixed: false, text: null }, { phone: '+34' }, AT + 2),
    ];
    const { bytes } = parquetEvents(rows);
    const { schema } = parquetFileMetadata(bytes);
    expect(
      schema.slice(1).map(({ name, type, converted_type, repetition_type, logical_type }) => ({
        name,
        type,
        converted_type,
        repetition_type,
        logical_type,
      })),
    ).toEqual([
      {
        name: 'ts',
        type: 'INT64',
        converted_type: undefined,
        repetition_type: 'REQUIRED',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
      },
      ...['eventName', 'identity', 'email', 'phone'].map((name) => ({
        name,
        type: 'BYTE_ARRAY',
        converted_type: 'UTF8',
        repetition_type: name === 'eventName' ? 'REQUIRED' : 'OPTIONAL',
        logical_type: undefined,
      })),
      {
        name: 'flag',
        type: 'BOOLEAN',
        converted_type: undefined,
        repetition_type: 'OPTIONAL',
        logical_type: undefined,
      },
      {
        name: 'mixed',
        type: 'BYTE_ARRAY',
        converted_type: 'UTF8',
        repetition_type: 'OPTIONAL',
        logical_type: undefined,
      },
      { name: 'n', type: 'DOUBLE', converted_type: undefined, repetition_type: 'OPTIONAL', logical_type: undefined },
      {
        name: 'text',
        type: 'BYTE_ARRAY',
        converted_type: 'UTF8',
        repetition_type: 'OPTIONAL',
        logical_type: undefined,
      },
    ]);
    const read = await parquetRows(bytes);
    expect(read.map(({ ts, ...row }) => [(ts as Date).getTime(), row])).toEqual([
      [AT, { eventName: 'e', identity: 'u1', email: 'a@b.c', phone: '+33', flag: true, mixed: '1', n: 1, text: 'x' }],
      [
        AT + 1,
        {
          eventName: 'e',
          identity: null,
          email: null,
          phone: null,
          flag: false,
          mixed: '{"o":[1]}',
          n: 2.5,
          text: null,
        },
      ],
      [
        AT + 2,
        { eventName: 'e', identity: null, email: null, phone: '+34', flag: null, mixed: 'false', n: null, text: null },
      ],
    ]);
  });

  it('holds every property as text with asString', async () => {
    const { bytes } = parquetEvents([event({ n: 1.5, flag: true, o: { a: 1 }, z: null })], true);
    expect(parquetTypes(bytes)).toMatchObject({
      n: 'BYTE_ARRAY',
      flag: 'BYTE_ARRAY',
      o: 'BYTE_ARRAY',
      z: 'BYTE_ARRAY',
    });
    expect(await parquetRows(bytes)).toMatchObject([{ n: '1.5', flag: 'true', o: '{"a":1}', z: null }]);
  });

  it('writes profiles: the identity columns, then the attributes', async () => {
    const rows = [
      user({ seats: 3, plan: 'pro' }, { identity: 'u1', email: 'a@b.c' }),
      user({ trial: true }, { phone: '+33' }),
    ];
    const { bytes } = written(
      profileFormat('parquet', { asString: false, columns: columnsOf(rows.map((row) => row.attributes)) }),
      rows,
    );
    expect(parquetTypes(bytes)).toEqual({
      identity: 'BYTE_ARRAY',
      email: 'BYTE_ARRAY',
      phone: 'BYTE_ARRAY',
      plan: 'BYTE_ARRAY',
      seats: 'DOUBLE',
      trial: 'BOOLEAN',
    });
    expect(await parquetRows(bytes)).toEqual([
      { identity: 'u1', email: 'a@b.c', phone: null, plan: 'pro', seats: 3, trial: null },
      { identity: null, email: null, phone: '+33', plan: null, seats: null, trial: true },
    ]);
  });

  it('encodes a row group at 10,000 rows and hands it out then', () => {
    const rows = Array.from({ length: 10_001 }, (_, i) => event({ i }, {}, AT + i));
    const format = eventFormat('parquet', { eventName: 'e', asString: false, columns: columnsOf([{ i: 1 }]) });
    const file = format.open();
    for (const row of rows.slice(0, 9_999)) file.add(file.encode(row));
    expect(file.take()).toBeUndefined();
    file.add(file.encode(rows[9_999]));
    const firstGroup = file.take() as Uint8Array;
    expect(firstGroup.length).toBeGreaterThan(0);
    expect(file.take()).toBeUndefined();
    file.add(file.encode(rows[10_000]));
    const bytes = Buffer.concat([firstGroup, file.finish() as Uint8Array]);
    expect(parquetFileMetadata(bytes).row_groups.map((group) => Number(group.num_rows))).toEqual([10_000, 1]);
  });

  it('encodes a row group once about 1 MB of values is waiting', () => {
    const rows = Array.from({ length: 25 }, (_, i) => event({ text: String(i % 10).repeat(100_000) }));
    const { bytes, taken } = parquetEvents(rows);
    // 100,000 bytes of text and a few more per row: 11 rows reach 1 MiB.
    expect(parquetFileMetadata(bytes).row_groups.map((group) => Number(group.num_rows))).toEqual([11, 11, 3]);
    expect(taken).toBe(2);
  });

  it('encodes a row group when exactly 1 MiB of values is waiting, not a row later', () => {
    const row = (text: string) => event({ text });
    const format = eventFormat('parquet', { eventName: 'e', asString: false, columns: columnsOf([{ text: 'x' }]) });
    // Two rows of half a MiB each, as the file counts them.
    const frame = format.open().encode(row('')).bytes;
    const half = row('h'.repeat(512 * 1024 - frame));
    const { bytes, taken } = written(format, [half, half, half]);
    expect(taken).toBe(1);
    expect(parquetFileMetadata(bytes).row_groups.map((group) => Number(group.num_rows))).toEqual([2, 1]);
  });

  it('estimates its size at no less than the bytes it writes, whatever the rows', () => {
    for (const count of [0, 1, 50, 500]) {
      for (const width of [1, 300]) {
        const rows = Array.from({ length: count }, (_, i) =>
          event({ n: i, text: `${i}`.padEnd(width, 'x'), flag: i % 2 === 0 }, { identity: `u${i}` }),
        );
        const file = eventFormat('parquet', {
          eventName: 'e',
          asString: false,
          columns: columnsOf(rows.map((row) => row.properties)),
        }).open();
        let total = 0;
        for (const row of rows) {
          const encoded = file.encode(row);
          const before = file.size;
          file.add(encoded);
          expect(file.size - before).toBe(encoded.bytes);
          total += file.take()?.length ?? 0;
        }
        const estimate = file.size;
        total += file.finish().length;
        expect(estimate).toBeGreaterThanOrEqual(total);
      }
    }
  });
});

describe('names and identities', () => {
  it("keeps one slash between the key prefix and the name, whatever the prefix's own slashes", () => {
    const key = (keyPrefix: string) =>
      eventFileKey({
        keyPrefix,
        jobId: 'job1',
        runTs: 20261123040005,
        event: 'e',
        day: '20261122',
        index: 0,
        environmentId: 'env1',
        extension: 'json',
      });
    expect(key('exports/daily//')).toBe('exports/daily/job1-20261123040005-e-20261122-0-env1.json');
    expect(key('exports/daily')).toBe('exports/daily/job1-20261123040005-e-20261122-0-env1.json');
  });

  it('passes over an empty identity to the next field of the priority', () => {
    expect(prioritizedProfile({ userId: '', email: 'a@b.c' })).toEqual({ identity: 'a@b.c', email: 'a@b.c' });
    expect(prioritizedProfile({ userId: 'u1', email: '' }, ['email', 'identity'])).toEqual({
      identity: 'u1',
      email: '',
    });
  });
});
