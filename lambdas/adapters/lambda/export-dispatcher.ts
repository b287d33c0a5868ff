/**
 * Hands a manual export job, or a one-time export job's run, to the run-export Lambda as an asynchronous invocation: the API answers at
 * once, and Lambda queues the event (and retries it) independently of the request that created it.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { ExportDispatcher, ExportJobDispatcher, JobRunRequest, ManualExportRequest } from '../../ports';
import { toJobRunEvent, toManualExportEvent, type RunExportEvent } from '../../run-export-events';

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
    await this.invoke(
      toManualExportEvent(request),
      `manual export job ${request.jobId} of environment ${request.environmentId}`,
    );
  }

  async dispatchJobRun(request: JobRunRequest): Promise<void> {
    await this.invoke(toJobRunEvent(request), `export job ${request.jobId} of environment ${request.environmentId}`);
  }

  private async invoke(event: RunExportEvent, job: string): Promise<void> {
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
      const detail = response.FunctionError
        ? `function error ${response.FunctionError}`
        : `status ${response.StatusCode}`;
      throw new DispatchError(`${this.functionName} did not accept ${job}: ${detail}.`);
    }
  }
}
