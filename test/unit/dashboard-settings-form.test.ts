/** The Data export form's logic: the body a save sends, and where each API error is shown. */
import { ApiError } from '../../dashboard/src/api';
import {
  formOf,
  placeErrors,
  saveBody,
  type SettingsForm,
  type SettingsView,
} from '../../dashboard/src/pages/data-export-form';

const stored: SettingsView = {
  enabled: true,
  cadence: 'daily',
  provider: 'Custom',
  bucketUrl: null,
  bucket: 'exports',
  region: 'auto',
  key: 'warehouse',
  endpoint: 'https://acct.r2.cloudflarestorage.com',
  accessKeyId: '****WXYZ',
  secretAccessKeySet: true,
  notifyEmails: ['a@example.com', 'b@example.com'],
  stoppedAt: null,
  stoppedReason: null,
  updatedAt: null,
  version: 4,
};

describe('saveBody', () => {
  it('sends back the version read, keeps the stored credentials when their fields are left empty', () => {
    expect(saveBody(formOf(stored), stored.version)).toEqual({
      enabled: true,
      cadence: 'daily',
      provider: 'Custom',
      bucket: 'exports',
      region: 'auto',
      key: 'warehouse',
      endpoint: 'https://acct.r2.cloudflarestorage.com',
      notifyEmails: ['a@example.com', 'b@example.com'],
      version: 4,
    });
  });

  it("sends only the chosen provider's fields, and typed credentials", () => {
    const form: SettingsForm = {
      ...formOf(stored),
      provider: 'AWS',
      bucketUrl: ' https://b.s3.eu-west-1.amazonaws.com/k ',
      accessKeyId: 'AKIA1',
      secretAccessKey: 's',
    };
    expect(saveBody(form, 4)).toEqual({
      enabled: true,
      cadence: 'daily',
      provider: 'AWS',
      bucketUrl: 'https://b.s3.eu-west-1.amazonaws.com/k',
      accessKeyId: 'AKIA1',
      secretAccessKey: 's',
      notifyEmails: ['a@example.com', 'b@example.com'],
      version: 4,
    });
  });

  it('leaves the destination out of a save that turns the export off with no destination typed', () => {
    const empty = formOf({
      ...stored,
      enabled: false,
      provider: null,
      bucket: null,
      region: null,
      key: null,
      endpoint: null,
      notifyEmails: [],
    });
    expect(saveBody(empty, 0)).toEqual({ enabled: false, cadence: 'daily', notifyEmails: [], version: 0 });
  });
});

describe('placeErrors', () => {
  const form = formOf(stored);

  it('puts each issue at the field its path names, and keeps the message when one has no field', () => {
    const placed = placeErrors(
      new ApiError(400, 'validation_error', 'Invalid destination.', [
        { path: 'region', message: 'must be a region name' },
        { path: 'notifyEmails.1', message: 'must be an email address' },
      ]),
      form,
    );
    expect(placed).toEqual({
      fields: { region: 'must be a region name', notifyEmails: 'must be an email address' },
      form: undefined,
      conflict: false,
    });
    expect(
      placeErrors(new ApiError(400, 'validation_error', 'Bad.', [{ path: 'bucketUrl', message: 'AWS only' }]), form)
        .form,
    ).toBe('Bad.');
  });

  it.each([
    ['invalid_credentials', 'Custom', 'accessKeyId'],
    ['access_denied', 'GCP', 'accessKeyId'],
    ['bucket_not_found', 'Custom', 'bucket'],
    ['bucket_not_found', 'AWS', 'bucketUrl'],
    ['endpoint_unreachable', 'Custom', 'endpoint'],
    ['endpoint_not_allowed', 'AWS', 'bucketUrl'],
  ] as const)('shows %s of a %s destination at %s', (code, provider, field) => {
    const placed = placeErrors(new ApiError(403, code, 'The message.'), { ...form, provider });
    expect(placed.fields).toEqual({ [field]: 'The message.' });
    expect(placed.form).toBeUndefined();
  });

  it('marks a stale save (409) as a conflict to reload, and any other refusal for the whole form', () => {
    expect(placeErrors(new ApiError(409, 'conflict', 'Changed since read.'), form)).toEqual({
      fields: {},
      form: 'Changed since read.',
      conflict: true,
    });
    expect(placeErrors(new ApiError(403, 'plan_required', 'Needs enterprise.'), form)).toEqual({
      fields: {},
      form: 'Needs enterprise.',
      conflict: false,
    });
  });
});
