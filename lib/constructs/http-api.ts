/**
 * The service's HTTP API: management routes behind a JWT authorizer, the public OpenAPI document and the
 * ingest routes (authenticated by the environment's key in the ingest function), each with its own
 * throttling, on a `$default` stage with JSON access logs.
 *
 * Added in the stack's own scope rather than as a child construct: the API, its stage and its routes
 * keep the logical ids they had, so an update does not replace them (a new `$default` stage or route
 * key cannot be created while the old one exists, and the API's URL would change).
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type AddRoutesOptions,
  CfnStage,
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpRoute,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';

export interface ApiThrottle {
  /** Steady-state requests per second for the whole stage. */
  readonly rateLimit: number;
  /** Burst bucket size. */
  readonly burstLimit: number;
}

/**
 * Per-route limits of the HTTP API (API Gateway route settings). They cap the whole service, across
 * tenants: what one tenant may run at once is limited by the service itself (manual export slots).
 */
export interface ApiRouteThrottles {
  /** `ANY /v1/{proxy+}`: the management API. @default 50 rps, burst 100 */
  readonly management?: ApiThrottle;
  /** `POST /v1/environments/{envId}/exports/manual`: each call starts an export of up to 15 minutes. @default 5 rps, burst 10 */
  readonly manualExportStart?: ApiThrottle;
  /** `GET /v1/openapi.json`: public, without a token. @default 10 rps, burst 20 */
  readonly openApi?: ApiThrottle;
  /** `ANY /ingest/{proxy+}`: the tracking SDKs of every tenant. @default 500 rps, burst 1000 */
  readonly ingest?: ApiThrottle;
}

export const DEFAULT_ROUTE_THROTTLES: Required<ApiRouteThrottles> = {
  management: { rateLimit: 50, burstLimit: 100 },
  manualExportStart: { rateLimit: 5, burstLimit: 10 },
  openApi: { rateLimit: 10, burstLimit: 20 },
  ingest: { rateLimit: 500, burstLimit: 1000 },
};

export interface ServiceHttpApiProps {
  readonly stage: string;
  /** Issuer (`iss`) of the JWT bearer tokens (https URL). */
  readonly jwtIssuer: string;
  /** Accepted audience(s) (`aud`) of those tokens. */
  readonly jwtAudience: string | string[];
  /** Browser origins allowed to call the API (CORS); preflights bypass the JWT authorizer. */
  readonly corsAllowedOrigins: string[];
  /** Default throttling of the stage, for routes without their own. @default 100 rps, burst 200 */
  readonly apiThrottle?: ApiThrottle;
  /** Throttling of each route, over the stage's default. @default {@link DEFAULT_ROUTE_THROTTLES} */
  readonly apiRouteThrottles?: ApiRouteThrottles;
  /** Serves `/v1/...`. */
  readonly apiFunction: IFunction;
  /** Serves `/ingest/...`. */
  readonly ingestFunction: IFunction;
}

export interface ServiceHttpApi {
  readonly httpApi: HttpApi;
  /** The `$default` stage (access logs, throttling); its URL is the API's base URL. */
  readonly stage: HttpStage;
  readonly jwtAuthorizer: HttpJwtAuthorizer;
  readonly routes: Record<'management' | 'manualExportStart' | 'openApi' | 'ingest', HttpRoute[]>;
}

/** Adds the HTTP API to `stack` (in its own scope: see above). */
export function addHttpApi(stack: Stack, props: ServiceHttpApiProps): ServiceHttpApi {
  const audience = Array.isArray(props.jwtAudience) ? props.jwtAudience : [props.jwtAudience];
  const jwtAuthorizer = new HttpJwtAuthorizer('JwtAuthorizer', props.jwtIssuer, {
    jwtAudience: audience,
    identitySource: ['$request.header.Authorization'],
  });
  const httpApi = new HttpApi(stack, 'HttpApi', {
    description: `Data export service API (${props.stage})`,
    // Secure by default: any route added later needs a JWT unless it opts out explicitly.
    defaultAuthorizer: jwtAuthorizer,
    // The $default stage is created below, with access logs and throttling.
    createDefaultStage: false,
    corsPreflight: {
      allowOrigins: props.corsAllowedOrigins,
      allowMethods: [CorsHttpMethod.ANY],
      allowHeaders: ['authorization', 'content-type'],
      // Read by the dashboard: where a started export is, and when to start another (429).
      exposeHeaders: ['location', 'retry-after'],
      maxAge: Duration.hours(1),
    },
  });
  const stage = addStage(stack, httpApi, props);
  const routes = addRoutes(httpApi, stage, jwtAuthorizer, props);
  return { httpApi, stage, jwtAuthorizer, routes };
}

/** The `$default` stage: JSON access logs without secrets, and the stage's default throttling. */
function addStage(stack: Stack, httpApi: HttpApi, props: ServiceHttpApiProps): HttpStage {
  const accessLogs = new LogGroup(stack, 'ApiAccessLogs', {
    retention: RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const throttle = throttleOf('apiThrottle', props.apiThrottle ?? { rateLimit: 100, burstLimit: 200 });
  return httpApi.addStage('DefaultStage', {
    stageName: '$default',
    autoDeploy: true,
    throttle,
    accessLogSettings: {
      destination: new LogGroupLogDestination(accessLogs),
      // JSON, HTTP API context variables only. $context.path has no query string, so an ingest key
      // passed as ?publishableKey= never reaches the logs; no header or claim is logged either.
      format: AccessLogFormat.custom(
        JSON.stringify({
          requestId: '$context.requestId',
          requestTime: '$context.requestTime',
          ip: '$context.identity.sourceIp',
          userAgent: '$context.identity.userAgent',
          httpMethod: '$context.httpMethod',
          routeKey: '$context.routeKey',
          path: '$context.path',
          status: '$context.status',
          protocol: '$context.protocol',
          responseLength: '$context.responseLength',
          responseLatency: '$context.responseLatency',
          integrationLatency: '$context.integrationLatency',
          integrationError: '$context.integrationErrorMessage',
          authorizerError: '$context.authorizer.error',
        }),
      ),
    },
  });
}

/** Each route with its throttling (route settings of the stage, keyed by route key). */
function addRoutes(
  httpApi: HttpApi,
  stage: HttpStage,
  jwtAuthorizer: HttpJwtAuthorizer,
  props: ServiceHttpApiProps,
): ServiceHttpApi['routes'] {
  const apiIntegration = new HttpLambdaIntegration('ApiIntegration', props.apiFunction);
  const ingestIntegration = new HttpLambdaIntegration('IngestIntegration', props.ingestFunction);
  const routeThrottles = { ...DEFAULT_ROUTE_THROTTLES, ...definedOnly(props.apiRouteThrottles) };
  const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
  const addRoute = (options: AddRoutesOptions & { methods: [HttpMethod] }, limit: ApiThrottle): HttpRoute[] => {
    const routeKey = `${options.methods[0]} ${options.path}`;
    routeSettings[routeKey] = throttleSettings(throttleOf(`apiRouteThrottles of ${routeKey}`, limit));
    return httpApi.addRoutes(options);
  };
  const routes = {
    management: addRoute(
      { path: '/v1/{proxy+}', methods: [HttpMethod.ANY], integration: apiIntegration, authorizer: jwtAuthorizer },
      routeThrottles.management,
    ),
    // Its own route (the most specific route wins) only to get its own, lower, limit.
    manualExportStart: addRoute(
      {
        path: '/v1/environments/{envId}/exports/manual',
        methods: [HttpMethod.POST],
        integration: apiIntegration,
        authorizer: jwtAuthorizer,
      },
      routeThrottles.manualExportStart,
    ),
    openApi: addRoute(
      {
        path: '/v1/openapi.json',
        methods: [HttpMethod.GET],
        integration: apiIntegration,
        authorizer: new HttpNoneAuthorizer(),
      },
      routeThrottles.openApi,
    ),
    ingest: addRoute(
      {
        path: '/ingest/{proxy+}',
        methods: [HttpMethod.ANY],
        integration: ingestIntegration,
        authorizer: new HttpNoneAuthorizer(),
      },
      routeThrottles.ingest,
    ),
  };
  // No L2 property for route settings. The stage must be deployed after the routes it names.
  const cfnStage = stage.node.defaultChild as CfnStage;
  cfnStage.routeSettings = routeSettings;
  for (const route of Object.values(routes).flat()) cfnStage.node.addDependency(route);
  return routes;
}

/** A throttle API Gateway accepts: a rate of at least 0 requests per second, a whole burst of at least 0. */
function throttleOf(name: string, throttle: ApiThrottle): ApiThrottle {
  if (!(throttle.rateLimit >= 0) || !Number.isInteger(throttle.burstLimit) || throttle.burstLimit < 0) {
    throw new Error(`${name} must have a rateLimit >= 0 and a whole burstLimit >= 0; got ${JSON.stringify(throttle)}.`);
  }
  return throttle;
}

const throttleSettings = (throttle: ApiThrottle) => ({
  ThrottlingRateLimit: throttle.rateLimit,
  ThrottlingBurstLimit: throttle.burstLimit,
});

/** The properties that are set, so an explicit `undefined` does not replace a default. */
const definedOnly = <T extends object>(value: T | undefined): Partial<T> =>
  Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
