/** Lambda entry for the tracking ingest (`/ingest`), authenticated by the environment's ingest key. */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { awsIngest, readIngestConfig } from '../adapters/aws-wiring';
import { handleApiGateway } from '../http/apigateway';
import { ingestRouter } from '../http/ingest-routes';
import { systemClock } from '../services';

const router = ingestRouter(awsIngest(readIngestConfig()), systemClock);

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> =>
  handleApiGateway(router, event);
