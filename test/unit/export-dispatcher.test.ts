import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { DispatchError, LambdaExportDispatcher } from '../../lambdas/adapters/lambda/export-dispatcher';

const FUNCTION_NAME = 'data-export-run-export';
const REQUEST = { environmentId: 'env_1', jobId: 'job_1' };

const lambda = mockClient(LambdaClient);
const dispatcher = new LambdaExportDispatcher({ client: new LambdaClient({}), functionName: FUNCTION_NAME });

beforeEach(() => {
  lambda.reset();
});

afterAll(() => {
  lambda.restore();
});

describe('LambdaExportDispatcher', () => {
  it('invokes the function asynchronously with the manual export event', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });

    await dispatcher.dispatchManualExport(REQUEST);

    const calls = lambda.commandCalls(InvokeCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0].args[0].input;
    expect(input).toMatchObject({ FunctionName: FUNCTION_NAME, InvocationType: 'Event' });
    expect(JSON.parse(Buffer.from(input.Payload as Uint8Array).toString('utf8'))).toEqual({
      kind: 'manual-export',
      environmentId: 'env_1',
      jobId: 'job_1',
    });
  });

  it.each([
    ['a status other than 202', { StatusCode: 200 }, /status 200/],
    ['a function error', { StatusCode: 202, FunctionError: 'Unhandled' }, /function error Unhandled/],
  ])('fails with a DispatchError on %s', async (_case, response, message) => {
    lambda.on(InvokeCommand).resolves(response);

    const dispatching = dispatcher.dispatchManualExport(REQUEST);

    await expect(dispatching).rejects.toBeInstanceOf(DispatchError);
    await expect(dispatching).rejects.toThrow(message);
    await expect(dispatching).rejects.toMatchObject({ name: 'DispatchError' });
  });

  it('fails with a DispatchError that keeps the cause when the invocation is refused', async () => {
    const refusal = new TooManyRequestsException({ $metadata: { httpStatusCode: 429 }, message: 'Rate exceeded' });
    lambda.on(InvokeCommand).rejects(refusal);

    const dispatching = dispatcher.dispatchManualExport(REQUEST);

    await expect(dispatching).rejects.toBeInstanceOf(DispatchError);
    await expect(dispatching).rejects.toMatchObject({ cause: refusal });
  });

  it("invokes the function asynchronously with an export job's run", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });

    await dispatcher.dispatchJobRun({
      environmentId: 'env_1',
      jobId: 'job_1',
      scheduledTime: Date.parse('2026-11-23T10:30:00Z'),
    });

    const input = lambda.commandCalls(InvokeCommand)[0].args[0].input;
    expect(input).toMatchObject({ FunctionName: FUNCTION_NAME, InvocationType: 'Event' });
    expect(JSON.parse(Buffer.from(input.Payload as Uint8Array).toString('utf8'))).toEqual({
      kind: 'job-run',
      environmentId: 'env_1',
      jobId: 'job_1',
      scheduledTime: '2026-11-23T10:30:00.000Z',
    });
  });
});
