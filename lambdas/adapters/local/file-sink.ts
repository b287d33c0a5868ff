/**
 * The export sink of local mode and of the benchmark: objects are files under a directory. A file is
 * written under a temporary name next to its target and renamed when complete, so it appears only
 * whole (a rename within a directory is atomic) and an existing file is replaced, never truncated.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ObjectSink } from '../../ports';

/**
 * Bytes queued behind the write in progress before the export is held back. With the default 16 KiB,
 * one chunk (a company's rows, about 100 KB) fills it, and the export waits for every write.
 */
const WRITE_BUFFER_BYTES = 1 << 20;

export class ObjectKeyOutsideDirectoryError extends Error {
  override readonly name = 'ObjectKeyOutsideDirectoryError';
  constructor(readonly key: string) {
    super(`Object key "${key}" points outside the sink's directory.`);
  }
}

export class LocalFileSink implements ObjectSink {
  private readonly directory: string;

  constructor(options: { directory: string }) {
    this.directory = resolve(options.directory);
  }

  /** The file holding the object `key`. */
  pathOf(key: string): string {
    const path = resolve(this.directory, key);
    if (!path.startsWith(this.directory + sep)) throw new ObjectKeyOutsideDirectoryError(key);
    return path;
  }

  /** Files carry no content type: the options are accepted for the interface only. */
  async write(key: string, body: Readable, _options: { contentType: string }): Promise<void> {
    const target = this.pathOf(key);
    const temporary = `${target}.${randomUUID()}.partial`;
    try {
      await mkdir(dirname(target), { recursive: true });
      // Opened before streaming so the file exists from here on: removing it on failure can never
      // race with a pending open. The write stream closes it, also when the body fails.
      const file = await open(temporary, 'wx');
      await pipeline(body, file.createWriteStream({ highWaterMark: WRITE_BUFFER_BYTES }));
      await rename(temporary, target);
    } catch (error) {
      body.destroy();
      await rm(temporary, { force: true });
      throw error;
    }
  }
}
