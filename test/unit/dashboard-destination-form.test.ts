/** The destination form's logic: the body a save sends for each auth mode, the bucket its policy is for, where errors show. */
import { ApiError } from '../../dashboard/src/api';
import {
  blockingJobIds,
  bucketOf,
  destinationBody,
  destinationFormOf,
  emptyDestinationForm,
  placeDestinationErrors,
  type DestinationView,
} from '../../dashboard/src/pages/destination-form';

const stored: DestinationView = {
  id: 'dst_1',
  name: 'Warehouse',
  provider: 'Custom',
  bucketUrl: null,
  bucket: 'exports',
  region: 'auto',
  key: 'events',
  endpoint: 'https://acct.r2.cloudflarestorage.com',
  auth: { mode: 'accessKey', accessKeyId: '****WXYZ', secretAccessKeySet: true },
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  version: 3,
};

describe('destinationBody', () => {
  it("sends the provider's own fields and, with an access key, the secret only when typed", () => {
    expect(destinationBody({ ...destinationFormOf(stored), accessKeyId: 'AKIAWXYZ' }, 3)).toEqual({
      name: 'Warehouse',
      provider: 'Custom',
      bucket: 'exports',
      region: 'auto',
      key: 'events',
      endpoint: 'https://acct.r2.cloudflarestorage.com',
      auth: { mode: 'accessKey', accessKeyId: 'AKIAWXYZ' },
      version: 3,
    });
    const form = {
      ...emptyDestinationForm(),
      name: ' Lake ',
      bucketUrl: 'https://lake.s3.eu-west-1.amazonaws.com/k',
      bucket: 'ignored',
      accessKeyId: 'AKIA1',
      secretAccessKey: 's',
    };
    expect(destinationBody(form)).toEqual({
      name: 'Lake',
      provider: 'AWS',
      bucketUrl: 'https://lake.s3.eu-west-1.amazonaws.com/k',
      auth: { mode: 'accessKey', accessKeyId: 'AKIA1', secretAccessKey: 's' },
    });
  });

  it('sends no credentials in bucket-policy mode, whatever was typed before switching', () => {
    const form = {
      ...destinationFormOf(stored),
      mode: 'bucketPolicy' as const,
      accessKeyId: 'AKIA1',
      secretAccessKey: 's',
    };
    expect(destinationBody(form, 3).auth).toEqual({ mode: 'bucketPolicy' });
  });
});

describe('bucketOf', () => {
  it('reads the bucket from an AWS bucket URL, in both host styles, or takes the bucket field', () => {
    expect(
      bucketOf({ ...emptyDestinationForm(), bucketUrl: 'https://acme.lake.s3.eu-west-1.amazonaws.com/events' }),
    ).toBe('acme.lake');
    expect(bucketOf({ ...emptyDestinationForm(), bucketUrl: 'https://acme-lake.s3-eu-west-1.amazonaws.com' })).toBe(
      'acme-lake',
    );
    expect(bucketOf({ ...emptyDestinationForm(), bucketUrl: 'not a url' })).toBeUndefined();
    expect(bucketOf({ ...emptyDestinationForm(), provider: 'Custom', bucket: ' exports ' })).toBe('exports');
    expect(bucketOf({ ...emptyDestinationForm(), provider: 'Custom' })).toBeUndefined();
  });
});

describe('placeDestinationErrors', () => {
  it('places auth issues at the flat credential fields', () => {
    const error = new ApiError(400, 'invalid_request', 'Invalid destination.', [
      { path: 'auth.secretAccessKey', message: 'required with a new accessKeyId' },
    ]);
    expect(placeDestinationErrors(error, destinationFormOf(stored))).toEqual({
      fields: { secretAccessKey: 'required with a new accessKeyId' },
      conflict: false,
    });
  });

  it('places a refused check at the key in access-key mode, at the access choice in bucket-policy mode', () => {
    const denied = new ApiError(403, 'access_denied', 'Access denied: the bucket does not let this identity write.');
    expect(placeDestinationErrors(denied, destinationFormOf(stored)).fields).toEqual({ accessKeyId: denied.message });
    expect(placeDestinationErrors(denied, { ...destinationFormOf(stored), mode: 'bucketPolicy' }).fields).toEqual({
      mode: denied.message,
    });
    const missing = new ApiError(404, 'bucket_not_found', 'No such bucket.');
    expect(placeDestinationErrors(missing, emptyDestinationForm()).fields).toEqual({ bucketUrl: missing.message });
  });
});

describe('blockingJobIds', () => {
  it('reads the job ids a destination_in_use refusal names, once each', () => {
    expect(
      blockingJobIds(
        'Destination dst_1 is used by active export jobs job_a1, job_b2, job_a1. Stop those jobs (POST .../export-jobs/{id}/stop) first.',
      ),
    ).toEqual(['job_a1', 'job_b2']);
  });
});
