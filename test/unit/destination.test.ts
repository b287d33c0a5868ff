import { destinationFrom, DestinationValidationError, type SettingsInput } from '../../lambdas/core/destination-input';
import {
  BucketNotFoundError,
  GCS_ENDPOINT,
  isAwsRegion,
  isBucketName,
  normalizeKeyPrefix,
  parseAwsBucketUrl,
} from '../../lambdas/core/destination';
import { ValidationError } from '../../lambdas/core/errors';

describe('parseAwsBucketUrl', () => {
  it('reads bucket and region of a regional URL without a key', () => {
    expect(parseAwsBucketUrl('https://acme-exports.s3.eu-west-1.amazonaws.com')).toEqual({
      bucket: 'acme-exports',
      region: 'eu-west-1',
      keyPrefix: '',
    });
    expect(parseAwsBucketUrl('https://acme-exports.s3.eu-west-1.amazonaws.com/')).toEqual({
      bucket: 'acme-exports',
      region: 'eu-west-1',
      keyPrefix: '',
    });
  });

  it('reads the key of a regional URL', () => {
    expect(parseAwsBucketUrl('https://acme-exports.s3.us-east-2.amazonaws.com/bucket')).toEqual({
      bucket: 'acme-exports',
      region: 'us-east-2',
      keyPrefix: 'bucket',
    });
  });

  it('normalizes a nested key with trailing and doubled slashes, and surrounding blanks', () => {
    expect(parseAwsBucketUrl('  https://acme.exports.s3.ap-southeast-2.amazonaws.com//exports//daily/  ')).toEqual({
      bucket: 'acme.exports',
      region: 'ap-southeast-2',
      keyPrefix: 'exports/daily',
    });
  });

  it('decodes a percent-encoded key, and keeps a malformed escape as typed', () => {
    expect(parseAwsBucketUrl('https://acme.s3.eu-west-1.amazonaws.com/my%20exports%2Fdaily')?.keyPrefix).toBe(
      'my exports/daily',
    );
    expect(parseAwsBucketUrl('https://acme.s3.eu-west-1.amazonaws.com/caf%C3%A9/')?.keyPrefix).toBe('café');
    expect(parseAwsBucketUrl('https://acme.s3.eu-west-1.amazonaws.com/100%zz')?.keyPrefix).toBe('100%zz');
  });

  it('accepts the legacy s3-<region> dash form', () => {
    expect(parseAwsBucketUrl('https://acme-exports.s3-eu-central-1.amazonaws.com/out')).toEqual({
      bucket: 'acme-exports',
      region: 'eu-central-1',
      keyPrefix: 'out',
    });
  });

  it('maps the global https://<bucket>.s3.amazonaws.com form to us-east-1', () => {
    expect(parseAwsBucketUrl('https://acme-exports.s3.amazonaws.com/a/b/')).toEqual({
      bucket: 'acme-exports',
      region: 'us-east-1',
      keyPrefix: 'a/b',
    });
    expect(parseAwsBucketUrl('https://acme-exports.s3.amazonaws.com')?.region).toBe('us-east-1');
  });

  it.each([
    ['plain http', 'http://acme-exports.s3.eu-west-1.amazonaws.com/key'],
    ['another host', 'https://acme-exports.storage.googleapis.com/key'],
    ['a look-alike host', 'https://acme-exports.s3.eu-west-1.amazonaws.com.evil.example/key'],
    ['a path-style URL', 'https://s3.eu-west-1.amazonaws.com/acme-exports/key'],
    ['an uppercase bucket', 'https://Acme-Exports.s3.eu-west-1.amazonaws.com/key'],
    ['a bucket name too short', 'https://ab.s3.eu-west-1.amazonaws.com'],
    ['an s3:// URI', 's3://acme-exports/key'],
    ['an empty string', ''],
    ['a bucket name with consecutive dots', 'https://acme..exports.s3.eu-west-1.amazonaws.com/x'],
    ['a query string', 'https://acme-exports.s3.eu-west-1.amazonaws.com/exports?versionId=3'],
    ['a fragment', 'https://acme-exports.s3.eu-west-1.amazonaws.com/exports#top'],
  ])('refuses %s', (_label, url) => {
    expect(parseAwsBucketUrl(url)).toBeUndefined();
  });
});

describe('normalizeKeyPrefix', () => {
  it.each([
    [undefined, ''],
    ['', ''],
    ['/', ''],
    ['///', ''],
    ['exports', 'exports'],
    ['/exports/', 'exports'],
    ['a//b///c/', 'a/b/c'],
    ['//a/b', 'a/b'],
  ])('%p -> %p', (input, expected) => {
    expect(normalizeKeyPrefix(input)).toBe(expected);
  });
});

describe('isAwsRegion', () => {
  it.each(['eu-west-1', 'us-east-1', 'us-gov-west-1', 'ap-southeast-5', 'ap-northeast-3', 'il-central-1', 'ca-west-1'])(
    'accepts %s',
    (region) => expect(isAwsRegion(region)).toBe(true),
  );

  it.each(['eu-wset-1', 'europe-west1', 'auto', 'EU-WEST-1', 'eu-west', 'eu-west-1a', ' eu-west-1', 'us-gov-west'])(
    'refuses %p',
    (region) => expect(isAwsRegion(region)).toBe(false),
  );
});

describe('isBucketName', () => {
  it('accepts S3/GCS/R2 names and refuses the rest', () => {
    for (const name of ['abc', 'acme-exports', 'acme.exports', 'acme_exports', '0day', 'a'.repeat(63)]) {
      expect(isBucketName(name)).toBe(true);
    }
    for (const name of [
      'ab',
      'a'.repeat(64),
      'Acme',
      '-acme',
      'acme-',
      '.acme',
      'acme..exports',
      'acme exports',
      'acme/x',
      '',
    ]) {
      expect(isBucketName(name)).toBe(false);
    }
  });
});

/** The ValidationError a call throws (fails the test when it throws nothing or something else). */
function validationErrorOf(input: SettingsInput): ValidationError {
  try {
    destinationFrom(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`destinationFrom accepted ${JSON.stringify(input)}`);
}

const paths = (error: ValidationError) => error.issues.map((issue) => issue.path).sort();

describe('destinationFrom', () => {
  it('names no destination when no provider is given', () => {
    expect(destinationFrom({ enabled: true, bucket: 'acme-exports' })).toBeUndefined();
  });

  describe('AWS', () => {
    it('takes bucket, region and key from the bucket URL, with no endpoint', () => {
      expect(
        destinationFrom({
          enabled: true,
          provider: 'AWS',
          bucketUrl: 'https://acme-exports.s3.eu-west-1.amazonaws.com/daily/',
          bucket: 'ignored',
        }),
      ).toEqual({ provider: 'AWS', bucket: 'acme-exports', region: 'eu-west-1', keyPrefix: 'daily' });
    });

    it('accepts GovCloud regions', () => {
      expect(
        destinationFrom({
          enabled: true,
          provider: 'AWS',
          bucketUrl: 'https://acme-exports.s3.us-gov-west-1.amazonaws.com',
        })?.region,
      ).toBe('us-gov-west-1');
    });

    it('needs a bucket URL', () => {
      const error = validationErrorOf({ enabled: true, provider: 'AWS' });
      expect(paths(error)).toEqual(['bucketUrl']);
      expect(error.message).toContain('bucketUrl: must look like https://<bucket>.s3.<region>.amazonaws.com');
    });

    it('refuses a URL of the wrong shape on bucketUrl', () => {
      const error = validationErrorOf({
        enabled: true,
        provider: 'AWS',
        bucketUrl: 'http://acme-exports.s3.eu-west-1.amazonaws.com',
      });
      expect(paths(error)).toEqual(['bucketUrl']);
    });

    it('refuses a misspelled region on bucketUrl, naming it', () => {
      const error = validationErrorOf({
        enabled: true,
        provider: 'AWS',
        bucketUrl: 'https://acme-exports.s3.eu-wset-1.amazonaws.com/x',
      });
      expect(error.issues).toEqual([
        { path: 'bucketUrl', message: '"eu-wset-1" is not an AWS region name such as eu-west-1' },
      ]);
    });
  });

  describe('key prefixes', () => {
    it.each([
      ['a parent segment', '../../../../tmp/dx-probe', /"\." or "\.\." segments/],
      ['a current-folder segment', 'exports/./daily', /"\." or "\.\." segments/],
      ['a leading slash', '/exports', /must not start with "\/"/],
      ['an empty segment', 'exports//daily', /empty segments/],
      ['a control character', 'exports\ndaily', /control characters/],
      ['a lone surrogate', 'exports/\ud800', /lone surrogate/],
      ['more than 512 bytes', 'é'.repeat(257), /at most 512 bytes/],
    ])('refuses %s in key, naming the field and the rule', (_, key, message) => {
      const error = validationErrorOf({
        enabled: true,
        provider: 'Custom',
        bucket: 'acme',
        endpoint: 'https://s3.example.com',
        key,
      });
      expect(error.issues).toEqual([{ path: 'key', message: expect.stringMatching(message) }]);
    });

    it('refuses the same in the key part of an AWS bucket URL, also percent-encoded or with spaces around the URL', () => {
      expect(
        validationErrorOf({
          enabled: true,
          provider: 'AWS',
          bucketUrl: ' https://acme.s3.eu-west-1.amazonaws.com/../x ',
        }).issues,
      ).toEqual([{ path: 'bucketUrl', message: expect.stringMatching(/^the key prefix /) }]);
      for (const path of ['../../tmp/x', '%2E%2E/tmp', 'a//b', `${'k'.repeat(513)}`]) {
        const error = validationErrorOf({
          enabled: true,
          provider: 'AWS',
          bucketUrl: `https://acme.s3.eu-west-1.amazonaws.com/${path}`,
        });
        expect(error.issues).toEqual([{ path: 'bucketUrl', message: expect.stringMatching(/^the key prefix /) }]);
      }
    });

    it('accepts 512 bytes, dots inside segments, and the bucket root', () => {
      const key = `${'a'.repeat(255)}/${'b'.repeat(256)}`;
      expect(key).toHaveLength(512);
      expect(
        destinationFrom({ enabled: true, provider: 'Custom', bucket: 'acme', endpoint: 'https://s3.example.com', key })
          ?.keyPrefix,
      ).toBe(key);
      expect(
        destinationFrom({ enabled: true, provider: 'GCP', bucket: 'acme', key: 'v1.2/..hidden/...' })?.keyPrefix,
      ).toBe('v1.2/..hidden/...');
      expect(destinationFrom({ enabled: true, provider: 'GCP', bucket: 'acme', key: '' })?.keyPrefix).toBe('');
      expect(
        destinationFrom({ enabled: true, provider: 'AWS', bucketUrl: 'https://acme.s3.eu-west-1.amazonaws.com/' })
          ?.keyPrefix,
      ).toBe('');
    });
  });

  describe('GCP', () => {
    it('uses the GCS endpoint and region auto by default, and drops a trailing slash of the key', () => {
      expect(
        destinationFrom({ enabled: true, provider: 'GCP', bucket: ' acme_exports ', key: 'exports/daily/' }),
      ).toEqual({
        provider: 'GCP',
        bucket: 'acme_exports',
        region: 'auto',
        keyPrefix: 'exports/daily',
        endpoint: GCS_ENDPOINT,
      });
    });

    it('keeps a given region and ignores a given endpoint', () => {
      const destination = destinationFrom({
        enabled: true,
        provider: 'GCP',
        bucket: 'acme-exports',
        region: 'europe-west1',
        endpoint: 'https://elsewhere.example.com',
      });
      expect(destination?.region).toBe('europe-west1');
      expect(destination?.endpoint).toBe('https://storage.googleapis.com');
      expect(destination?.keyPrefix).toBe('');
    });

    it('does not need an endpoint', () => {
      expect(() => destinationFrom({ enabled: true, provider: 'GCP', bucket: 'acme-exports' })).not.toThrow();
    });
  });

  describe('Custom', () => {
    it('keeps the endpoint, and defaults the region to us-east-1', () => {
      expect(
        destinationFrom({
          enabled: true,
          provider: 'Custom',
          bucket: 'acme',
          endpoint: 'https://abc123.eu.r2.cloudflarestorage.com',
          key: 'k',
        }),
      ).toEqual({
        provider: 'Custom',
        bucket: 'acme',
        region: 'us-east-1',
        keyPrefix: 'k',
        endpoint: 'https://abc123.eu.r2.cloudflarestorage.com',
      });
    });

    it('needs an endpoint', () => {
      const error = validationErrorOf({ enabled: true, provider: 'Custom', bucket: 'acme' });
      expect(paths(error)).toEqual(['endpoint']);
    });

    it('reports every problem at once', () => {
      const error = validationErrorOf({ enabled: true, provider: 'Custom', bucket: 'Bad Bucket', region: 'EU West' });
      expect(error.issues).toEqual([
        {
          path: 'bucket',
          message: 'must be a bucket name: 3-63 lowercase letters, digits, dots, dashes or underscores',
        },
        { path: 'endpoint', message: 'required for Custom, e.g. https://<ACCOUNT_ID>.eu.r2.cloudflarestorage.com' },
        { path: 'region', message: 'must be a region name such as europe-west1, auto or us-east-1' },
      ]);
      expect(error.message).toBe(
        `Invalid destination. ${error.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}.`,
      );
    });
  });

  it.each([
    ['a missing', undefined],
    ['an empty', ''],
    ['a too short', 'ab'],
    ['an uppercase', 'AcmeExports'],
    ['a', 'acme/exports'],
    ['a', 'acme..exports'],
    ['a', 'acme-'],
    ['a too long', 'a'.repeat(64)],
  ])('refuses %s bucket name %p on bucket (GCP and Custom)', (_label, bucket) => {
    for (const provider of ['GCP', 'Custom'] as const) {
      const error = validationErrorOf({ enabled: true, provider, bucket, endpoint: 'https://minio.example.com' });
      expect(paths(error)).toEqual(['bucket']);
    }
  });

  it('trims the region given', () => {
    expect(destinationFrom({ enabled: true, provider: 'GCP', bucket: 'acme', region: ' europe-west1 ' })?.region).toBe(
      'europe-west1',
    );
  });

  it("reports the destination's own error when validation fails, keeping it as the cause", () => {
    const destinationError = new BucketNotFoundError('acme');
    const error = new DestinationValidationError(destinationError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('DestinationValidationError');
    expect(error.message).toBe(destinationError.message);
    expect(error.cause).toBe(destinationError);
    expect(error.destinationError).toBe(destinationError);
  });

  it('refuses a region that is not a region name on region', () => {
    for (const region of ['x', 'europe_west1', 'a'.repeat(33)]) {
      expect(paths(validationErrorOf({ enabled: true, provider: 'GCP', bucket: 'acme', region }))).toEqual(['region']);
    }
  });
});
