/**
 * The dashboard on AWS: its static files in a private S3 bucket, served only through CloudFront (origin
 * access control), HTTPS only, with security headers. `publish` deploys the built bundle with the
 * `config.json` that tells the page where the API is; it is a separate step because the API's CORS
 * configuration needs this site's address first.
 */
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type IBucket } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';

export interface DashboardSiteProps {
  /** Folder of the built dashboard (index.html, app.js, styles.css), without config.json. */
  readonly bundleDir: string;
  /** Where the site bucket's server access logs go. */
  readonly accessLogsBucket: IBucket;
}

export class DashboardSite extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  /** The page's origin, `https://<distribution domain>`: what the API's CORS configuration allows. */
  readonly url: string;
  /** Set by {@link publish}. */
  deployment?: BucketDeployment;
  private readonly bundleDir: string;

  constructor(scope: Construct, id: string, props: DashboardSiteProps) {
    super(scope, id);
    this.bundleDir = props.bundleDir;
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'dashboard-bucket/',
      // Only the built page: every deployment writes it again.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: false,
    });

    const securityHeaders = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment:
        'Data export dashboard: CSP (scripts from the site, API calls to the site and the API), HSTS, no framing, no referrer',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          // API Gateway hosts of this region: naming the API itself would make the distribution depend on
          // the API, whose CORS configuration depends on the distribution.
          contentSecurityPolicy:
            `default-src 'self'; connect-src 'self' https://*.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}; img-src 'self' data:; ` +
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
          override: true,
        },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Data export dashboard',
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: securityHeaders,
        compress: true,
      },
      // Page paths (/environments/{envId}/settings/data-export, linked from emails) are not objects:
      // the private bucket answers 403 for them, and the app routes them itself.
      errorResponses: [403, 404].map((httpStatus) => ({
        httpStatus,
        responseHttpStatus: 200,
        responsePagePath: '/index.html',
        ttl: Duration.minutes(5),
      })),
    });
    this.url = `https://${this.distribution.distributionDomainName}`;
  }

  /** Deploys the bundle and `config.json` (`{apiBaseUrl}`): the page calls that API. */
  publish(apiBaseUrl: string): BucketDeployment {
    if (this.deployment) throw new Error('The dashboard is published once.');
    this.deployment = new BucketDeployment(this, 'Deployment', {
      sources: [Source.asset(this.bundleDir), Source.jsonData('config.json', { apiBaseUrl })],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/index.html', '/app.js', '/styles.css', '/config.json'],
      memoryLimit: 256,
    });
    return this.deployment;
  }
}
