import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { LocalFileSink, ObjectKeyOutsideDirectoryError } from '../../lambdas/adapters/local/file-sink';

const CSV = { contentType: 'text/csv; charset=utf-8' };

let directory: string;
let sink: LocalFileSink;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'file-sink-'));
  sink = new LocalFileSink({ directory });
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Resolves once the sink has consumed everything written to `body` so far. */
async function consumed(body: PassThrough): Promise<void> {
  while (body.readableLength > 0 || body.writableLength > 0) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('LocalFileSink', () => {
  it('writes the body to the file named by the key, creating its folders', async () => {
    await sink.write('exports/2024/adoption.csv', Readable.from(['a,b\n', '1,2\n']), CSV);

    expect(await readFile(join(directory, 'exports/2024/adoption.csv'), 'utf8')).toBe('a,b\n1,2\n');
    expect(await readdir(join(directory, 'exports/2024'))).toEqual(['adoption.csv']);
  });

  it('makes the file appear only once the body is complete', async () => {
    const target = sink.pathOf('adoption.csv');
    const body = new PassThrough();
    const writing = sink.write('adoption.csv', body, CSV);

    body.write('a,b\n');
    await consumed(body);
    // Written so far under a temporary name next to the target.
    expect(await readdir(directory)).toEqual([expect.stringMatching(/^adoption\.csv\..+\.partial$/)]);

    body.end('1,2\n');
    await writing;
    expect(await readFile(target, 'utf8')).toBe('a,b\n1,2\n');
    expect(await readdir(directory)).toEqual(['adoption.csv']);
  });

  it('leaves nothing behind when the body fails, and rethrows its error', async () => {
    const body = new PassThrough();
    const writing = sink.write('exports/adoption.csv', body, CSV);
    body.write('a,b\n');
    await consumed(body);
    const sourceError = new Error('the source failed');

    body.destroy(sourceError);

    await expect(writing).rejects.toBe(sourceError);
    expect(await readdir(join(directory, 'exports'))).toEqual([]);
  });

  it('keeps the previous file whole when a rewrite fails', async () => {
    const target = sink.pathOf('adoption.csv');
    await writeFile(target, 'previous\n');
    const body = new PassThrough();
    const writing = sink.write('adoption.csv', body, CSV);
    body.write('partial');
    await consumed(body);

    body.destroy(new Error('the source failed'));

    await expect(writing).rejects.toThrow('the source failed');
    expect(await readFile(target, 'utf8')).toBe('previous\n');
    expect(await readdir(dirname(target))).toEqual(['adoption.csv']);
  });

  it('refuses keys that point outside its directory', async () => {
    await expect(sink.write('../escape.csv', Readable.from(['x']), CSV)).rejects.toBeInstanceOf(
      ObjectKeyOutsideDirectoryError,
    );
    expect(await readdir(dirname(directory))).not.toContain('escape.csv');
  });
});
