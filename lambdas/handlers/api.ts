/** Lambda entry for the management API (`/v1`). API Gateway has verified the JWT already. */
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { awsServices, readApiConfig } from '../adapters/aws-wiring';
import { flushMetrics, startInvocation } from '../adapters/observability';
import { handleApiGateway } from '../http/apigateway';
import { apiRouter } from '../http/api-routes';

const router = apiRouter(awsServices(readApiConfig()));

/** The ids in a `/v1` path (the routes are `/v1/{proxy+}`, so API Gateway does not name them). */
const pathIds = (path: string) => ({
  organizationId: /^\/v1\/organizations\/([^/]+)/.exec(path)?.[1],
  environmentId: /^\/v1\/environments\/([^/]+)/.exec(path)?.[1],
  jobId: /\/exports\/manual\/([^/]+)/.exec(path)?.[1],
});

export const handler = async (
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context: Context,
): Promise<APIGatewayProxyResultV2> => {
  startInvocation(context, { apiRequestId: event.requestContext?.requestId, ...pathIds(event.rawPath ?? '') });
  // What the services count (e.g. a manual export whose dispatch failed) is published with each answer.
  return handleApiGateway(router, event).finally(flushMetrics);
};
