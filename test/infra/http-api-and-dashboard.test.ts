/** Infra tests: the HTTP API (routes, authorizers, throttling, outputs) and the dashboard (S3 + CloudFront). */
import {
  stack,
  template,
  id,
  resourcesOfType,
  statements,
  dashboardDeploymentRoleId,
  bucketPolicy,
  asArray,
  ISSUER,
  AUDIENCE,
  synthesizeOnce,
} from '../support/synthesized-stack';

synthesizeOnce();

describe('dashboard (S3 + CloudFront)', () => {
  const site = () => resourcesOfType('AWS::S3::Bucket')[id(stack.dashboard.bucket)];
  const distribution = () =>
    resourcesOfType('AWS::CloudFront::Distribution')[id(stack.dashboard.distribution)].Properties.DistributionConfig;
  const siteUrl = () => ({
    'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [id(stack.dashboard.distribution), 'DomainName'] }]],
  });

  it('a private bucket: all public access blocked, SSE-S3, ACLs disabled, TLS only, server access logs', () => {
    expect(site().Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LoggingConfiguration: {
        DestinationBucketName: { Ref: id(stack.accessLogsBucket) },
        LogFilePrefix: 'dashboard-bucket/',
      },
    });
    expect(site().Properties.BucketName).toBeUndefined();
    const deny = bucketPolicy(id(stack.dashboard.bucket)).find((s) => s.Effect === 'Deny');
    expect(deny).toMatchObject({ Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
  });

  it('only this distribution may read it, through origin access control (no OAI, no website endpoint)', () => {
    const allows = bucketPolicy(id(stack.dashboard.bucket)).filter((s) => s.Effect === 'Allow');
    expect(allows).toEqual([
      expect.objectContaining({
        Action: 's3:GetObject',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Condition: {
          StringEquals: {
            'AWS:SourceArn': expect.objectContaining({
              'Fn::Join': ['', expect.arrayContaining([{ Ref: id(stack.dashboard.distribution) }])],
            }),
          },
        },
      }),
    ]);
    const [origin] = distribution().Origins;
    expect(origin.OriginAccessControlId).toBeDefined();
    expect(origin.S3OriginConfig.OriginAccessIdentity).toBe('');
    expect(site().Properties.WebsiteConfiguration).toBeUndefined();
  });

  it('HTTPS only, security headers, page paths answered by index.html', () => {
    const config = distribution();
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(config.DefaultCacheBehavior.AllowedMethods).toEqual(['GET', 'HEAD']);
    expect(config.CustomErrorResponses.map((r: any) => [r.ErrorCode, r.ResponseCode, r.ResponsePagePath])).toEqual([
      [403, 200, '/index.html'],
      [404, 200, '/index.html'],
    ]);
    const [policy] = Object.values(resourcesOfType('AWS::CloudFront::ResponseHeadersPolicy'));
    expect(config.DefaultCacheBehavior.ResponseHeadersPolicyId).toEqual({
      Ref: Object.keys(resourcesOfType('AWS::CloudFront::ResponseHeadersPolicy'))[0],
    });
    const headers = policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    expect(headers.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 31536000, Override: true });
    expect(headers.FrameOptions.FrameOption).toBe('DENY');
    expect(headers.ContentTypeOptions.Override).toBe(true);
    expect(headers.ReferrerPolicy.ReferrerPolicy).toBe('no-referrer');
    expect(JSON.stringify(headers.ContentSecurityPolicy.ContentSecurityPolicy)).toContain("default-src 'self'");
  });

  it('deploys the built bundle with config.json naming the API, and invalidates the page', () => {
    const [deployment] = Object.values(resourcesOfType('Custom::CDKBucketDeployment'));
    expect(deployment.Properties.DestinationBucketName).toEqual({ Ref: id(stack.dashboard.bucket) });
    expect(deployment.Properties.SourceObjectKeys).toHaveLength(2); // the bundle, config.json
    expect(deployment.Properties.SourceMarkers[1]).toEqual({
      '<<marker:0xbaba:0>>': { 'Fn::GetAtt': [id(stack.httpApi), 'ApiEndpoint'] },
    });
    expect(deployment.Properties.DistributionId).toEqual({ Ref: id(stack.dashboard.distribution) });
    expect(deployment.Properties.DistributionPaths).toContain('/config.json');
  });

  it("the API's CORS configuration allows the dashboard's origin, with the headers it sends and reads", () => {
    const [api] = Object.values(resourcesOfType('AWS::ApiGatewayV2::Api'));
    expect(api.Properties.CorsConfiguration).toMatchObject({
      AllowOrigins: [siteUrl()],
      AllowHeaders: ['authorization', 'content-type'],
      ExposeHeaders: ['location', 'retry-after'],
    });
  });

  it("CDK's deployment handler may touch only the asset bucket, the site bucket and invalidations", () => {
    const handlerStatements = statements(dashboardDeploymentRoleId());
    const resources = handlerStatements.flatMap((s) => asArray(s.Resource)).map((r) => JSON.stringify(r));
    for (const resource of resources) {
      expect(
        resource === '"*"' ||
          resource.includes('cdk-hnb659fds-assets') ||
          resource.includes(id(stack.dashboard.bucket)),
      ).toBe(true);
    }
    const anyResource = handlerStatements.filter((s) => asArray(s.Resource).includes('*'));
    expect(anyResource.flatMap((s) => asArray(s.Action)).sort()).toEqual([
      'cloudfront:CreateInvalidation',
      'cloudfront:GetInvalidation',
    ]);
  });
});

describe('HTTP API', () => {
  const routes = () =>
    Object.fromEntries(
      Object.values(resourcesOfType('AWS::ApiGatewayV2::Route')).map((r) => [r.Properties.RouteKey, r.Properties]),
    );
  /** Logical id of the function a route's integration invokes. */
  const functionOfRoute = (routeKey: string): string => {
    const target = routes()[routeKey].Target;
    const integrationId = target['Fn::Join'][1][1].Ref;
    const integration = resourcesOfType('AWS::ApiGatewayV2::Integration')[integrationId];
    expect(integration.Properties.IntegrationType).toBe('AWS_PROXY');
    return integration.Properties.IntegrationUri['Fn::GetAtt'][0];
  };

  it('JWT authorizer with the issuer and audience from the props', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: ISSUER, Audience: [AUDIENCE] },
    });
  });

  it('has exactly the four routes', () => {
    expect(Object.keys(routes()).sort()).toEqual([
      'ANY /ingest/{proxy+}',
      'ANY /v1/{proxy+}',
      'GET /v1/openapi.json',
      'POST /v1/environments/{envId}/exports/manual',
    ]);
  });

  it('POST /v1/environments/{envId}/exports/manual: its own route (for its limit), JWT authorizer -> management Lambda', () => {
    const authorizerId = Object.keys(resourcesOfType('AWS::ApiGatewayV2::Authorizer'))[0];
    const route = routes()['POST /v1/environments/{envId}/exports/manual'];
    expect(route).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
    expect(functionOfRoute('POST /v1/environments/{envId}/exports/manual')).toBe(id(stack.apiFunction));
  });

  it('throttles each route on its own, the stage default for any other', () => {
    const [stageId, stage] = Object.entries(resourcesOfType('AWS::ApiGatewayV2::Stage'))[0];
    expect(stage.Properties.RouteSettings).toEqual({
      'ANY /v1/{proxy+}': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      'POST /v1/environments/{envId}/exports/manual': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'GET /v1/openapi.json': { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      'ANY /ingest/{proxy+}': { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
    });
    // Route settings name routes that must exist first.
    const routeIds = Object.keys(resourcesOfType('AWS::ApiGatewayV2::Route'));
    expect(template.toJSON().Resources[stageId].DependsOn).toEqual(expect.arrayContaining(routeIds));
  });

  it('management routes: JWT authorizer -> management Lambda', () => {
    const authorizerId = Object.keys(resourcesOfType('AWS::ApiGatewayV2::Authorizer'))[0];
    expect(routes()['ANY /v1/{proxy+}']).toMatchObject({
      AuthorizationType: 'JWT',
      AuthorizerId: { Ref: authorizerId },
    });
    expect(functionOfRoute('ANY /v1/{proxy+}')).toBe(id(stack.apiFunction));
  });

  it('GET /v1/openapi.json: public -> management Lambda', () => {
    const route = routes()['GET /v1/openapi.json'];
    expect(route.AuthorizationType).toBe('NONE');
    expect(route.AuthorizerId).toBeUndefined();
    expect(functionOfRoute('GET /v1/openapi.json')).toBe(id(stack.apiFunction));
  });

  it('ANY /ingest/{proxy+}: no JWT (ingest key checked by the Lambda) -> ingest Lambda', () => {
    const route = routes()['ANY /ingest/{proxy+}'];
    expect(route.AuthorizationType).toBe('NONE');
    expect(route.AuthorizerId).toBeUndefined();
    expect(functionOfRoute('ANY /ingest/{proxy+}')).toBe(id(stack.ingestFunction));
  });

  it('$default stage: auto-deployed, throttled, JSON access logs to a retained log group', () => {
    const stages = Object.values(resourcesOfType('AWS::ApiGatewayV2::Stage'));
    expect(stages).toHaveLength(1);
    const stage = stages[0].Properties;
    expect(stage).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [expect.stringMatching(/^ApiAccessLogs/), 'Arn'] } },
    });
    const format = JSON.parse(stage.AccessLogSettings.Format);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      routeKey: '$context.routeKey',
    });
    // Never the query string (?publishableKey=) or headers.
    expect(stage.AccessLogSettings.Format).not.toMatch(/querystring|header|authorizer\.claims/i);
  });

  it('outputs the API URL, the table names, the exports bucket and the run-export function', () => {
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'ConfigTableName',
        'UsageTableName',
        'ExportsBucketName',
        'RunExportFunctionName',
      ]),
    );
    expect(outputs.ConfigTableName.Value).toEqual({ Ref: id(stack.configTable) });
    expect(outputs.UsageTableName.Value).toEqual({ Ref: id(stack.usageTable) });
    expect(outputs.ExportsBucketName.Value).toEqual({ Ref: id(stack.exportsBucket) });
    expect(outputs.RunExportFunctionName.Value).toEqual({ Ref: id(stack.runExportFunction) });
  });

  it('outputs the schedule group, the check-failures function and the secrets key', () => {
    const outputs = template.findOutputs('*');
    expect(outputs.ScheduleGroupName.Value).toBe(stack.scheduleGroup.scheduleGroupName);
    expect(outputs.CheckFailuresFunctionName.Value).toEqual({ Ref: id(stack.checkFailuresFunction) });
    expect(outputs.DestinationSecretsKeyArn.Value).toEqual({ 'Fn::GetAtt': [id(stack.destinationSecretsKey), 'Arn'] });
  });
});
