/**
 * Hands a manual export job to the run-export Lambda as an asynchronous invocation: the API answers at
 * once, and Lambda queues the event (and retries it) independently of the request that created it.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { ExportDispatcher, ExportJobDispatcher, JobRunRequest, ManualExportRequest } from '../../ports';

/** The event the run-export Lambda receives for a manual export job. */
export interface ManualExportEvent extends ManualExportRequest {
  kind: 'manual-export';
}

/** The event the run-export Lambda receives for an export job's run started by the API (one-time jobs). */
export interface JobRunEvent {
  kind: 'job-run';
  environmentId: string;
  jobId: string;
  /** ISO 8601. */
  scheduledTime: string;
}

/** Status code of an asynchronous invocation that Lambda has queued. */
const ACCEPTED = 202;

export class DispatchError extends Error {
  override readonly name = 'DispatchError';
}

export class LambdaExportDispatcher implements ExportDispatcher, ExportJobDispatcher {
  private readonly client: LambdaClient;
  private readonly functionName: string;

  constructor(options: { client: LambdaClient; functionName: string }) {
    this.client = options.client;
    this.functionName = options.functionName;
  }

  async dispatchManualExport(request: ManualExportRequest): Promise<void> {
    const event: ManualExportEvent = { kind: 'manual-export', environmentId: request.environmentId, jobId: request.jobId };
    await this.invoke(event, `manual export job ${request.jobId} of environment ${request.environmentId}`);
  }

  async dispatchJobRun(request: JobRunRequest): Promise<void> {
    const event: JobRunEvent = {
      kind: 'job-run',
      environmentId: request.environmentId,
      jobId: request.jobId,
      scheduledTime: new Date(request.scheduledTime).toISOString(),
    };
    await this.invoke(event, `export job ${request.jobId} of environment ${request.environmentId}`);
  }

  private async invoke(event: ManualExportEvent | JobRunEvent, job: string): Promise<void> {
    const response = await this.client
      .send(
        new InvokeCommand({
          FunctionName: this.functionName,
          InvocationType: 'Event',
          Payload: Buffer.from(JSON.stringify(event)),
        }),
      )
      .catch((error: unknown) => {
        throw new DispatchError(`Could not dispatch ${job} to ${this.functionName}.`, { cause: error });
      });
    if (response.StatusCode !== ACCEPTED || response.FunctionError) {
      const detail = response.FunctionError ? `function error ${response.FunctionError}` : `status ${response.StatusCode}`;
      throw new DispatchError(`${this.functionName} did not accept ${job}: ${detail}.`);
    }
  }
}
