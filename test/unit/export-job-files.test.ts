/** Export-job files: naming and the character rules, identity priority, each format's escaping, chunk boundaries. */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import {
  compactTimestamp,
  eventFileKey,
  fileExtension,
  fileNamePart,
  prioritizedProfile,
  profileFileKey,
} from '../../lambdas/core/export/job-files';
import { eventFormat, PropertyColumnsCollector } from '../../lambdas/core/export/job-formats';
import { xmlText } from '../../lambdas/core/export/xml-text';
import { runExportJob, type ExportJobRunSpec } from '../../lambdas/core/export-job-run';
import {
  ArrayProfileStore,
  ArrayRawEventReader,
  eventRecord,
  exportJobRunSpec,
  MemorySink,
} from '../support/export-job-fixtures';

const AT = Date.UTC(2026, 10, 22, 10, 30, 0);
const HOSTILE =
  'quote " comma , newline \n return \r tab \t <tag> & amp; emoji 🎉 bell \u0007 nul \u0000 lone \ud800 end';

describe('file names', () => {
  it('replaces whitespace, tab, slash and NUL with a dash and other control characters with ?', () => {
    expect(fileNamePart('a b/c')).toBe('a-b-c');
    expect(fileNamePart('tab\there\u0000nul\nline')).toBe('tab-here-nul-line');
    // U+0085 (NEL) is a C1 control character, not whitespace in JavaScript: a ?.
    expect(fileNamePart('bell\u0007del\u007fc1\u0085')).toBe('bell?del?c1?');
    expect(fileNamePart('émoji 🎉')).toBe('émoji-🎉');
  });

  it('names event and profile files as DESIGN says', () => {
    const runTs = compactTimestamp(Date.UTC(2026, 10, 23, 4, 0, 5));
    expect(runTs).toBe(20261123040005);
    expect(
      eventFileKey({
        keyPrefix: 'exports/',
        jobId: 'job1',
        runTs,
        event: 'a b/c',
        day: '20261122',
        index: 0,
        environmentId: 'env1',
        extension: 'json.gz',
      }),
    ).toBe('exports/job1-20261123040005-a-b-c-20261122-0-env1.json.gz');
    expect(
      profileFileKey({
        keyPrefix: '',
        organizationId: 'org1',
        jobId: 'job1',
        runTs,
        environmentId: 'env1',
        index: 3,
        extension: 'csv.gz',
      }),
    ).toBe('org1-job1-20261123040005-env1-3.csv.gz');
  });

  it('gives the extension of each format and compression', () => {
    expect(fileExtension('json', 'gzip')).toBe('json.gz');
    expect(fileExtension('xml', 'none')).toBe('xml');
    expect(fileExtension('parquet', 'gzip')).toBe('parquet.gzip');
    expect(fileExtension('parquet', 'none')).toBe('parquet');
  });
});

describe('identity priority', () => {
  it('takes the user id first by default, then the email, then the phone', () => {
    expect(prioritizedProfile({ userId: 'u1', email: 'a@b.c' })).toEqual({ identity: 'u1', email: 'a@b.c' });
    expect(prioritizedProfile({ email: 'a@b.c', phone: '+33' })).toEqual({
      identity: 'a@b.c',
      email: 'a@b.c',
      phone: '+33',
    });
    expect(prioritizedProfile({ phone: '+33' })).toEqual({ identity: '+33', phone: '+33' });
  });

  it('follows the job priority and leaves the identity empty when none of it is present', () => {
    expect(prioritizedProfile({ userId: 'u1', email: 'a@b.c', phone: '+33' }, ['phone', 'email'])).toMatchObject({
      identity: '+33',
    });
    expect(prioritizedProfile({ email: 'a@b.c' }, ['identity'])).toEqual({ email: 'a@b.c' });
  });
});

describe('XML text', () => {
  it('escapes markup, keeps a carriage return and replaces characters XML 1.0 forbids', () => {
    expect(xmlText('a < b & c > d')).toBe('a &lt; b &amp; c &gt; d');
    expect(xmlText('x\ry')).toBe('x&#13;y');
    expect(xmlText('bell\u0007 nul\u0000 \ufffe lone \ud800 pair 🎉')).toBe(
      'bell\ufffd nul\ufffd \ufffd lone \ufffd pair 🎉',
    );
    expect(xmlText('tab\tline\n')).toBe('tab\tline\n');
  });
});

/** One file of the given format holding events with hostile text, as the job run writes it. */
async function hostileFile(format: 'json' | 'xml' | 'csv'): Promise<string> {
  const records = [
    eventRecord(
      'a b/c',
      AT,
      { text: HOSTILE, [HOSTILE]: 1, n: 2.5, flag: true, nested: { k: ['v'] } },
      { context: { browser: HOSTILE } },
    ),
    eventRecord('a b/c', AT + 1000, { text: '=SUM(A1)' }),
  ];
  const sink = new MemorySink();
  const { files } = await runExportJob(spec({ format, compression: 'none' }), {
    rawEvents: new ArrayRawEventReader(records),
    profiles: new ArrayProfileStore([]),
    sink,
  });
  expect(files).toHaveLength(1);
  expect(files[0].key).toBe(`dest/job1-20261123000000-a-b-c-20261122-0-env1.${format}`);
  return sink.text(files[0].key);
}

const spec = (overrides: Partial<ExportJobRunSpec>): ExportJobRunSpec =>
  exportJobRunSpec(
    {
      window: { from: AT - 86_400_000, to: AT + 86_400_000, by: 'receiveTime' },
      runScheduledAt: Date.UTC(2026, 10, 23),
    },
    overrides,
  );

describe('escaping in each format', () => {
  it('JSON lines: the event name first, then one parseable object per event with its properties as sent', async () => {
    const lines = (await hostileFile('json')).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    expect(JSON.parse(lines[0])).toBe('a b/c');
    const first = JSON.parse(lines[1]);
    expect(first.ts).toBe(20261122103000);
    // JSON escapes control characters and an unpaired surrogate (\ud800): all come back as sent.
    expect(first.eventProps).toEqual({ text: HOSTILE, [HOSTILE]: 1, n: 2.5, flag: true, nested: { k: ['v'] } });
    expect(first.profile.identity).toMatch(/^user-/);
  });

  it('XML: well-formed, every text back with only the forbidden characters replaced', async () => {
    const text = await hostileFile('xml');
    expect(XMLValidator.validate(text)).toBe(true);
    const parsed = new XMLParser({
      parseTagValue: false,
      trimValues: false,
      htmlEntities: true,
      isArray: (name) => ['Event', 'entry'].includes(name),
    }).parse(text);
    const [first, second] = parsed.Events.Event;
    const expected = HOSTILE.replace(/[\u0000\u0007\ud800]/g, '\ufffd');
    expect(first.ts).toBe('20261122103000');
    expect(first.eventName).toBe('a b/c');
    const props = Object.fromEntries(
      first.eventProps.entry.map((entry: { key: string; value: string }) => [entry.key, entry.value]),
    );
    expect(props).toEqual({ text: expected, [expected]: '1', n: '2.5', flag: 'true', nested: '{"k":["v"]}' });
    expect(first.deviceInfo.entry[0]).toEqual({ key: 'browser', value: expected });
    expect(second.eventProps.entry[0].value).toBe('=SUM(A1)');
  });

  it('CSV: a header with the fixed columns then the keys, every cell back as written, formulas neutralized', async () => {
    const rows: string[][] = parseCsv(await hostileFile('csv'), { relax_column_count: false });
    const keys = ['flag', HOSTILE.replace('\ud800', '\ufffd'), 'n', 'nested', 'text'].sort();
    expect(rows[0]).toEqual(['ts', 'eventName', 'identity', 'email', 'phone', ...keys]);
    const first = Object.fromEntries(rows[0].map((column, i) => [column, rows[1][i]]));
    expect(first).toMatchObject({
      ts: '2026-11-22T10:30:00.000Z',
      eventName: 'a b/c',
      text: HOSTILE.replace('\ud800', '\ufffd'),
      n: '2.5',
      flag: 'true',
      nested: '{"k":["v"]}',
    });
    expect(rows[2][rows[0].indexOf('text')]).toBe("'=SUM(A1)");
  });

  it('CSV: numbers are written as csv-stringify writes them, negative ones never escaped as formulas', async () => {
    const sink = new MemorySink();
    const numbers = { a: -5, b: 2.5, c: 0, d: 1e21, e: -0.125 };
    const { files } = await runExportJob(spec({ format: 'csv', compression: 'none' }), {
      rawEvents: new ArrayRawEventReader([eventRecord('e', AT, numbers, { userId: 'u' })]),
      profiles: new ArrayProfileStore([]),
      sink,
    });
    const expected = stringify([['2026-11-22T10:30:00.000Z', 'e', 'u', null, null, -5, 2.5, 0, 1e21, -0.125]], {
      record_delimiter: 'unix',
      escape_formulas: true,
    });
    expect(sink.text(files[0].key).split('\n')[1] + '\n').toBe(expected);
    expect(expected).toBe('2026-11-22T10:30:00.000Z,e,u,,,-5,2.5,0,1e+21,-0.125\n');
  });

  it('asString renders every property value as text', async () => {
    const sink = new MemorySink();
    const { files } = await runExportJob(spec({ asString: true, compression: 'none' }), {
      rawEvents: new ArrayRawEventReader([eventRecord('e', AT, { n: 1, b: false, o: { x: 1 }, z: null, s: 's' })]),
      profiles: new ArrayProfileStore([]),
      sink,
    });
    expect(JSON.parse(sink.text(files[0].key).split('\n')[1]).eventProps).toEqual({
      n: '1',
      b: 'false',
      o: '{"x":1}',
      z: '',
      s: 's',
    });
  });
});

describe('chunk boundaries', () => {
  const format = eventFormat('json', {
    eventName: 'e',
    asString: false,
    columns: new PropertyColumnsCollector(false).columns(),
  });
  const file = format.open();
  const rowBytes = file.encode({ name: 'e', timestamp: AT, profile: { identity: 'u' }, properties: { i: 1 } }).bytes;
  const headerBytes = file.size;

  async function chunksOf(eventCount: number, maxFileBytes: number) {
    const sink = new MemorySink();
    const records = Array.from({ length: eventCount }, (_, i) =>
      eventRecord('e', AT + i, { i: i % 10 }, { userId: 'u' }),
    );
    const { files } = await runExportJob(spec({ compression: 'none' }), {
      rawEvents: new ArrayRawEventReader(records),
      profiles: new ArrayProfileStore([]),
      sink,
      maxFileBytes,
    });
    return { files, sink };
  }

  it('fills a file up to the limit exactly, then starts the next with its own header', async () => {
    const perFile = 5;
    const { files, sink } = await chunksOf(11, headerBytes + perFile * rowBytes);
    expect(files.map((f) => [f.key.replace(/^.*-(\d+)-env1\.json$/, '$1'), f.records])).toEqual([
      ['0', 5],
      ['1', 5],
      ['2', 1],
    ]);
    for (const written of files) {
      const text = sink.text(written.key);
      expect(written.bytes).toBe(Buffer.byteLength(text));
      expect(written.bytes).toBeLessThanOrEqual(headerBytes + perFile * rowBytes);
      expect(JSON.parse(text.split('\n')[0])).toBe('e');
    }
  });

  it('starts a new file one byte below that limit one row sooner', async () => {
    const { files } = await chunksOf(10, headerBytes + 5 * rowBytes - 1);
    expect(files.map((f) => f.records)).toEqual([4, 4, 2]);
  });

  it('gives a row larger than the limit a file of its own', async () => {
    const { files } = await chunksOf(2, 1);
    expect(files.map((f) => f.records)).toEqual([1, 1]);
  });
});

describe('the job run', () => {
  it('splits by event name and UTC day, exports selected events only, once each, and falls back to the email', async () => {
    const day = 86_400_000;
    const first = eventRecord('a', AT, { i: 1 });
    const records = [
      first,
      // A client's retry: the same record again, received in the same minute.
      { ...first },
      eventRecord('b', AT, { i: 2 }),
      eventRecord('a', AT + day, { i: 3 }, { userId: undefined, context: { email: 'x@y.z' } }),
      eventRecord('c', AT, { i: 4 }),
      { ...eventRecord('x', AT, {}), type: 'user' as const },
    ];
    const sink = new MemorySink();
    const { files } = await runExportJob(
      spec({
        type: 'selectedEvents',
        events: ['a', 'b'],
        window: { from: AT - day, to: AT + 2 * day, by: 'receiveTime' },
      }),
      { rawEvents: new ArrayRawEventReader(records), profiles: new ArrayProfileStore([]), sink },
    );
    expect(files.map((f) => [f.key, f.records])).toEqual([
      ['dest/job1-20261123000000-a-20261122-0-env1.json.gz', 1],
      ['dest/job1-20261123000000-a-20261123-0-env1.json.gz', 1],
      ['dest/job1-20261123000000-b-20261122-0-env1.json.gz', 1],
    ]);
    const fallback = JSON.parse(sink.text(files[1].key).split('\n')[1]);
    expect(fallback.profile).toEqual({ identity: 'x@y.z', email: 'x@y.z' });
  });

  it.each(['csv', 'parquet'] as const)(
    "drops a retried record in %s too, where the second pass finds the first pass's repeats again",
    async (format) => {
      const first = eventRecord('a', AT, { i: 1 });
      const second = eventRecord('a', AT + 1, { i: 2 });
      const records = [first, { ...first }, second, eventRecord('a', AT + 2, { i: 3 }), { ...second }];
      const { files } = await runExportJob(spec({ format }), {
        rawEvents: new ArrayRawEventReader(records),
        profiles: new ArrayProfileStore([]),
        sink: new MemorySink(),
      });
      expect(files.map((f) => f.records)).toEqual([3]);
    },
  );

  it('fails when the sink fails, leaving no object of a file still open', async () => {
    class FailingSink extends MemorySink {
      override async write(
        key: string,
        body: import('node:stream').Readable,
        options: import('../../lambdas/core/export/pipeline').ObjectWriteOptions,
      ): Promise<void> {
        if (key.includes('-b-')) {
          body.resume();
          throw new Error('destination refused');
        }
        return super.write(key, body, options);
      }
    }
    const sink = new FailingSink();
    const records = Array.from({ length: 50 }, (_, i) => eventRecord(i % 2 ? 'a' : 'b', AT + i, { i }));
    await expect(
      runExportJob(spec({}), {
        rawEvents: new ArrayRawEventReader(records),
        profiles: new ArrayProfileStore([]),
        sink,
      }),
    ).rejects.toThrow('destination refused');
    // The file of `a` was still open: its upload was aborted, not completed with part of the events.
    expect([...sink.objects.keys()]).toEqual([]);
  });

  it('exports profiles: all on the first run, the changed ones after, always gzip-compressed', async () => {
    const profiles = new ArrayProfileStore([
      { userId: 'u1', attributes: { email: 'u1@x.y', plan: 'pro' }, updatedAt: 10 },
      { userId: 'u2', attributes: { phone: '+33 1' }, updatedAt: 20 },
    ]);
    const run = async (profilesChangedSince?: number) => {
      const sink = new MemorySink();
      const { files } = await runExportJob(spec({ type: 'userProfiles', compression: 'none', profilesChangedSince }), {
        rawEvents: new ArrayRawEventReader([]),
        profiles,
        sink,
      });
      return { files, sink };
    };
    const first = await run();
    expect(first.files.map((f) => f.key)).toEqual(['dest/org1-job1-20261123000000-env1-0.json.gz']);
    expect(
      first.sink
        .text(first.files[0].key)
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { profile: { identity: 'u1', email: 'u1@x.y' }, profileProps: { email: 'u1@x.y', plan: 'pro' } },
      { profile: { identity: 'u2', phone: '+33 1' }, profileProps: { phone: '+33 1' } },
    ]);
    const next = await run(15);
    expect(next.files[0].records).toBe(1);
  });
});
