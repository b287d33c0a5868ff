/** Lambda entry for the management API (`/v1`). API Gateway has verified the JWT already. */
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2 } from 'aws-lambda';
import { awsServices, readApiConfig } from '../adapters/aws-wiring';
import { handleApiGateway } from '../http/apigateway';
import { apiRouter } from '../http/api-routes';

const router = apiRouter(awsServices(readApiConfig()));

export const handler = async (event: APIGatewayProxyEventV2WithJWTAuthorizer): Promise<APIGatewayProxyResultV2> =>
  handleApiGateway(router, event);
