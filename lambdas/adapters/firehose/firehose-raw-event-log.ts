/**
 * The raw event log on AWS: records go to one Amazon Data Firehose stream, which partitions them by
 * environment and receive hour into the raw-data bucket (see the stack). PutRecordBatch may accept a
 * batch and still refuse some of its records (throttling, internal errors): those are sent again, and
 * if some are still refused after the last attempt, the caller gets RawLogUnavailableError and the
 * client retries the request (the log is at-least-once: records already taken may repeat).
 */
import { FirehoseClient, PutRecordBatchCommand, type _Record as FirehoseRecord } from '@aws-sdk/client-firehose';
import { encodeRawRecord, RawLogUnavailableError, type RawRecord } from '../../core/raw-log';
import { logger } from '../../core/log';
import type { RawEventLog } from '../../ports';

/** PutRecordBatch's limits: 500 records and 4 MiB per call. */
const MAX_BATCH_RECORDS = 500;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

export interface FirehoseRawEventLogOptions {
  client: FirehoseClient;
  streamName: string;
  /** Sends of the records a batch refused, the first included. @default 3 */
  attempts?: number;
  /** Wait before the n-th resend (1-based), in ms. @default 100 ms, doubling, with jitter */
  backoff?: (attempt: number) => number;
}

const defaultBackoff = (attempt: number) => 100 * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Consecutive runs of records that fit one call. */
function batches(records: readonly FirehoseRecord[]): FirehoseRecord[][] {
  const result: FirehoseRecord[][] = [];
  let current: FirehoseRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = record.Data!.byteLength;
    if (current.length === MAX_BATCH_RECORDS || (current.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) result.push(current);
  return result;
}

/** Server faults, throttling and network failures pass; a client fault (misconfiguration) does not. */
const isTransient = (error: unknown): boolean => (error as { $fault?: string }).$fault !== 'client';

export class FirehoseRawEventLog implements RawEventLog {
  private readonly attempts: number;
  private readonly backoff: (attempt: number) => number;

  constructor(private readonly options: FirehoseRawEventLogOptions) {
    this.attempts = options.attempts ?? 3;
    this.backoff = options.backoff ?? defaultBackoff;
  }

  async append(records: readonly RawRecord[]): Promise<void> {
    const encoded = records.map((record): FirehoseRecord => ({ Data: Buffer.from(encodeRawRecord(record), 'utf8') }));
    // One batch after the other, so the stream receives them in receive order.
    for (const batch of batches(encoded)) await this.send(batch);
  }

  private async send(batch: FirehoseRecord[]): Promise<void> {
    let pending = batch;
    let cause: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (attempt > 1) await sleep(this.backoff(attempt - 1));
      try {
        const { RequestResponses: responses = [] } = await this.options.client.send(
          new PutRecordBatchCommand({ DeliveryStreamName: this.options.streamName, Records: pending }),
        );
        // Each response matches the record at its index; a refused one carries an ErrorCode.
        const refused = pending.filter((_, index) => responses[index]?.ErrorCode !== undefined);
        if (refused.length === 0) return;
        cause = new Error(
          `Firehose refused ${refused.length} records: ${responses.find((r) => r.ErrorCode)?.ErrorCode}`,
        );
        pending = refused;
      } catch (error) {
        if (!isTransient(error)) throw error;
        cause = error;
      }
    }
    logger.warn('Raw event log refused records', { refused: pending.length, error: cause as Error });
    throw new RawLogUnavailableError(
      `The raw event log could not take ${pending.length} of the request's records right now; send the request again.`,
      { cause },
    );
  }
}
