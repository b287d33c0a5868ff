/**
 * A body read ahead (lambdas/core/export/read-ahead-body.ts): reading starts only when asked, stops once
 * `chunks` wait, and the body gives every chunk in order; an abandoned body closes its source, and a
 * failure met while reading ahead fails the upload that reads the body, not the process.
 */
import { ReadAheadBody } from '../../lambdas/core/export/read-ahead-body';

const turns = async (count = 5) => {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** A source of `count` chunks that records how many were read and whether it was closed. */
function counted(count: number, failAt?: number) {
  const state = { pulled: 0, closed: false };
  async function* source(): AsyncGenerator<string> {
    try {
      for (let i = 0; i < count; i++) {
        if (i === failAt) throw new Error('download failed');
        state.pulled++;
        yield `chunk ${i}\n`;
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, source: source() };
}

async function readAll(body: ReadAheadBody): Promise<string> {
  let text = '';
  for await (const chunk of body.body) text += String(chunk);
  return text;
}

describe('ReadAheadBody', () => {
  it('reads nothing until started, then reads ahead until the given number of chunks wait', async () => {
    const { state, source } = counted(100);
    const ahead = new ReadAheadBody(source, 3);
    await turns();
    expect(state.pulled).toBe(0);
    ahead.start();
    await turns();
    expect(state.pulled).toBe(3);
    const text = await readAll(ahead);
    expect(text).toBe(Array.from({ length: 100 }, (_, i) => `chunk ${i}\n`).join(''));
  });

  it('closes its source when abandoned', async () => {
    const { state, source } = counted(100);
    const ahead = new ReadAheadBody(source, 2);
    ahead.start();
    await turns();
    ahead.abandon();
    await turns();
    expect(state.closed).toBe(true);
    expect(state.pulled).toBeLessThan(100);
    expect(ahead.body.destroyed).toBe(true);
  });

  it('keeps a failure met while reading ahead for the upload that reads the body', async () => {
    const { source } = counted(10, 1);
    const ahead = new ReadAheadBody(source, 4);
    ahead.start();
    // No listener of the caller's yet: the failure must not be thrown as uncaught meanwhile.
    await turns();
    expect(ahead.body.errored).toEqual(new Error('download failed'));
    await expect(readAll(ahead)).rejects.toThrow('download failed');
  });
});
