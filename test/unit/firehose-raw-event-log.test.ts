/** The Firehose writer of the raw event log, against a mocked client (no Firehose emulator exists). */
import {
  FirehoseClient,
  InvalidArgumentException,
  PutRecordBatchCommand,
  ServiceUnavailableException,
  type PutRecordBatchCommandInput,
} from '@aws-sdk/client-firehose';
import { mockClient } from 'aws-sdk-client-mock';
import { FirehoseRawEventLog } from '../../lambdas/adapters/firehose/firehose-raw-event-log';
import { decodeRawRecord, RawLogUnavailableError, type RawRecord } from '../../lambdas/core/raw-log';

const STREAM = 'data-export-raw-events';
const firehose = mockClient(FirehoseClient);
const log = new FirehoseRawEventLog({
  client: new FirehoseClient({}),
  streamName: STREAM,
  attempts: 3,
  backoff: () => 0,
});

const records = (count: number, attributes: RawRecord['attributes'] = {}): RawRecord[] =>
  Array.from({ length: count }, (_, index) => ({
    id: `r${index}`,
    environmentId: 'env_1',
    receivedAt: 1_796_637_600_000 + index,
    type: 'event',
    userId: 'u1',
    event: 'report_run',
    attributes,
  }));

/** The records of each call, decoded. */
const sentCalls = (): RawRecord[][] =>
  firehose
    .commandCalls(PutRecordBatchCommand)
    .map((call) => call.args[0].input.Records!.map((r) => decodeRawRecord(Buffer.from(r.Data!).toString('utf8'))));

const accepted = (count: number) => ({
  FailedPutCount: 0,
  RequestResponses: Array.from({ length: count }, () => ({ RecordId: 'x' })),
});

beforeEach(() => firehose.reset());
afterAll(() => firehose.restore());

describe('FirehoseRawEventLog', () => {
  it('sends every record, one JSON line each, to its stream', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .callsFake((input: PutRecordBatchCommandInput) => accepted(input.Records!.length));
    await log.append(records(3));
    const [call] = firehose.commandCalls(PutRecordBatchCommand);
    expect(call.args[0].input.DeliveryStreamName).toBe(STREAM);
    const data = Buffer.from(call.args[0].input.Records![0].Data!).toString('utf8');
    expect(data.endsWith('\n')).toBe(true);
    expect(sentCalls()).toEqual([records(3)]);
  });

  it('splits into calls of at most 500 records and 4 MiB, in order', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .callsFake((input: PutRecordBatchCommandInput) => accepted(input.Records!.length));
    await log.append(records(1001));
    expect(sentCalls().map((call) => call.length)).toEqual([500, 500, 1]);
    expect(sentCalls().flat()).toEqual(records(1001));

    firehose.resetHistory();
    // 20 records of ~300 KB: 13 fit 4 MiB.
    await log.append(records(20, { blob: 'x'.repeat(300_000) }));
    const sizes = firehose
      .commandCalls(PutRecordBatchCommand)
      .map((call) => call.args[0].input.Records!.reduce((sum, r) => sum + r.Data!.byteLength, 0));
    expect(sizes.length).toBe(2);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(4 * 1024 * 1024);
  });

  it('sends again only the records a batch refused, until all are taken', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .resolvesOnce({
        FailedPutCount: 2,
        RequestResponses: [
          { RecordId: 'a' },
          { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' },
          { RecordId: 'c' },
          { ErrorCode: 'InternalFailure' },
        ],
      })
      .resolvesOnce({
        FailedPutCount: 1,
        RequestResponses: [{ RecordId: 'b' }, { ErrorCode: 'ServiceUnavailableException' }],
      })
      .resolvesOnce(accepted(1));
    await log.append(records(4));
    const [, r1, , r3] = records(4);
    expect(sentCalls()).toEqual([records(4), [r1, r3], [r3]]);
  });

  it('answers RawLogUnavailableError, without Firehose words, when some records are still refused after the last attempt', async () => {
    // The last record of every call is refused.
    firehose.on(PutRecordBatchCommand).callsFake((input: PutRecordBatchCommandInput) => ({
      FailedPutCount: 1,
      RequestResponses: input.Records!.map((_, index, all) =>
        index === all.length - 1 ? { ErrorCode: 'ServiceUnavailableException' } : { RecordId: 'a' },
      ),
    }));
    const failure = log.append(records(2)).catch((error: unknown) => error);
    const error = (await failure) as RawLogUnavailableError;
    expect(error).toBeInstanceOf(RawLogUnavailableError);
    expect(error.message).toBe(
      "The raw event log could not take 1 of the request's records right now; send the request again.",
    );
    expect(sentCalls().map((call) => call.length)).toEqual([2, 1, 1]);
  });

  it('retries a call that failed on the service side, and reports it unavailable when it keeps failing', async () => {
    const unavailable = new ServiceUnavailableException({ message: 'Slow down.', $metadata: { httpStatusCode: 503 } });
    firehose.on(PutRecordBatchCommand).rejectsOnce(unavailable).resolves(accepted(2));
    await log.append(records(2));
    expect(sentCalls()).toEqual([records(2), records(2)]);

    firehose.reset();
    firehose.on(PutRecordBatchCommand).rejects(unavailable);
    await expect(log.append(records(2))).rejects.toMatchObject({ name: 'RawLogUnavailableError', cause: unavailable });
    expect(firehose.commandCalls(PutRecordBatchCommand)).toHaveLength(3);
  });

  it('does not retry a client fault (a misconfigured stream): it is not the ingest client that should retry', async () => {
    const invalid = new InvalidArgumentException({ message: 'bad', $metadata: { httpStatusCode: 400 } });
    firehose.on(PutRecordBatchCommand).rejects(invalid);
    await expect(log.append(records(1))).rejects.toBe(invalid);
    expect(firehose.commandCalls(PutRecordBatchCommand)).toHaveLength(1);
  });

  it('sends nothing for no records', async () => {
    await log.append([]);
    expect(firehose.commandCalls(PutRecordBatchCommand)).toHaveLength(0);
  });
});
