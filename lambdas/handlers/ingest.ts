/** Lambda entry for the tracking ingest (`/ingest`), authenticated by the environment's ingest key. */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { awsIngest, readIngestConfig } from '../adapters/aws-wiring';
import { flushMetrics, operationalMetrics, startInvocation } from '../adapters/observability';
import { handleApiGateway } from '../http/apigateway';
import { ingestRouter } from '../http/ingest-routes';
import { systemClock } from '../services';

const router = ingestRouter(awsIngest(readIngestConfig()), systemClock, operationalMetrics);

export const handler = async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyResultV2> => {
  // The environment is known only once the ingest key is checked; the API request id correlates with the access log.
  startInvocation(context, { apiRequestId: event.requestContext?.requestId });
  try {
    return await handleApiGateway(router, event);
  } finally {
    flushMetrics();
  }
};
