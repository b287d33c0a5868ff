/** Request bodies of the management API: validated with zod and published in the OpenAPI document. */
import { z } from 'zod';
import { PROVIDERS } from '../core/destination';
import {
  MAX_ATTRIBUTE_KEY_CHARS,
  MAX_ATTRIBUTE_VALUE_BYTES,
  MAX_SEGMENT_CONDITIONS,
  MAX_SEGMENT_VALUES,
} from '../core/limits';
import { PLANS } from '../core/model';
import { AGGREGATIONS } from '../core/periods';
import { boundedText, idText, keyPrefix, storableNumber, wellFormedText } from './limited-schemas';

export const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const idParameter = z.string().regex(ID_PATTERN, 'use 1-64 letters, digits, ".", "_" or "-"');

const plan = z.enum(PLANS, { error: `plan must be one of ${PLANS.join(', ')}` });
const name = wellFormedText.trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

export const createOrganizationBody = z.object({ name, plan }).strict();
export const changePlanBody = z.object({ plan }).strict();
export const createEnvironmentBody = z.object({ name }).strict();

export const adoptionThresholds = z
  .object({
    minActiveDays: z.number().int().min(1).max(365),
    windowDays: z.number().int().min(1).max(365),
  })
  .strict()
  .refine((value) => value.minActiveDays <= value.windowDays, {
    message: 'minActiveDays cannot exceed windowDays',
    path: ['minActiveDays'],
  });

export const putFeatureBody = z
  .object({
    key: idText,
    name,
    adoption: adoptionThresholds.optional(),
  })
  .strict();

const attribute = wellFormedText
  .min(1, 'must name a company attribute')
  .max(MAX_ATTRIBUTE_KEY_CHARS, `attribute names are at most ${MAX_ATTRIBUTE_KEY_CHARS} characters`);
const scalar = z.union([boundedText(MAX_ATTRIBUTE_VALUE_BYTES), storableNumber, z.boolean(), z.null()]);

export const segmentCondition = z.union(
  [
    z.object({ attribute, operator: z.enum(['equals', 'notEquals']), value: scalar }).strict(),
    z.object({ attribute, operator: z.literal('contains'), value: boundedText(MAX_ATTRIBUTE_VALUE_BYTES) }).strict(),
    z
      .object({
        attribute,
        operator: z.literal('anyOf'),
        values: z.array(scalar).min(1).max(MAX_SEGMENT_VALUES, `list at most ${MAX_SEGMENT_VALUES} values`),
      })
      .strict(),
    z.object({ attribute, operator: z.enum(['greaterThan', 'lessThan']), value: storableNumber }).strict(),
    z.object({ attribute, operator: z.enum(['isSet', 'isNotSet']) }).strict(),
    z
      .object({
        field: z.enum(['firstSeen', 'lastSeen']),
        operator: z.enum(['moreThanDaysAgo', 'lessThanDaysAgo']),
        days: z.number().int().min(0).max(3650),
      })
      .strict(),
  ],
  {
    error:
      'each condition is {attribute, operator, value} with operator equals, notEquals, contains, anyOf (values), greaterThan, lessThan, isSet, isNotSet; or {field: firstSeen|lastSeen, operator: moreThanDaysAgo|lessThanDaysAgo, days}',
  },
);

export const putSegmentBody = z
  .object({
    name,
    conditions: z
      .array(segmentCondition)
      .max(MAX_SEGMENT_CONDITIONS, `send at most ${MAX_SEGMENT_CONDITIONS} conditions`),
  })
  .strict();

export const startManualExportBody = z
  .object({
    aggregation: z.enum(AGGREGATIONS, { error: `aggregation must be one of ${AGGREGATIONS.join(', ')}` }),
  })
  .strict();

const optionalText = (max: number) => wellFormedText.trim().min(1, 'must not be empty').max(max).optional();

/**
 * An access key id travels in the Authorization header of every request to the bucket, where only
 * ASCII is allowed; every S3 provider issues ids of printable ASCII.
 */
const accessKeyIdText = wellFormedText
  .trim()
  .min(1, 'must not be empty')
  .max(256)
  .regex(
    /^[\x21-\x7e]+$/,
    'must be the access key id as your provider issued it: printable ASCII characters, no spaces',
  );

/** RFC 5321's limit on a forward path. */
const MAX_EMAIL_CHARS = 254;

/** Settings never saved are at version 0: a GET answers 0, and a save may send it back. */
const settingsVersion = z
  .number({ error: 'version must be the version number of the settings you read' })
  .int('version must be a whole number')
  .min(0, 'version must be 0 or more')
  .max(Number.MAX_SAFE_INTEGER, 'version must be at most 2^53 - 1')
  .describe(
    'The `version` of the settings this save is based on, as the last GET (or PUT) answered it. A save based on an older version is refused with 409 `conflict`: reload, apply the change again and save. Leave it out (or send 0) to create settings when none were saved yet.',
  );

export const putExportSettingsBody = z
  .object({
    enabled: z.boolean({ error: 'enabled must be true or false' }),
    cadence: z.enum(['daily', 'weekly'], { error: 'cadence must be daily or weekly' }).optional(),
    provider: z.enum(PROVIDERS, { error: `provider must be one of ${PROVIDERS.join(', ')}` }).optional(),
    bucketUrl: optionalText(2048),
    bucket: optionalText(63),
    region: optionalText(32),
    key: keyPrefix.optional(),
    endpoint: optionalText(2048),
    accessKeyId: accessKeyIdText.optional(),
    secretAccessKey: optionalText(512),
    notifyEmails: z
      .array(z.email({ error: 'must be an email address' }).max(MAX_EMAIL_CHARS))
      .max(10)
      .optional(),
    version: settingsVersion.optional(),
  })
  .strict()
  .superRefine(checkProviderFields);

type LocationFields = {
  provider?: string;
  bucketUrl?: string;
  bucket?: string;
  region?: string;
  key?: string;
  endpoint?: string;
};

/** Each provider takes its own fields: AWS the bucket URL; GCP and Custom bucket, region and key (Custom an endpoint). */
function checkProviderFields(value: LocationFields, context: z.RefinementCtx): void {
  const notFor = (field: 'bucketUrl' | 'bucket' | 'region' | 'endpoint', message: string) => {
    if (value[field] !== undefined) context.addIssue({ code: 'custom', path: [field], message });
  };
  if (value.provider === 'AWS') {
    notFor('bucket', 'AWS takes the bucket URL (bucketUrl) instead of bucket, region and key');
    notFor('region', 'AWS takes the bucket URL (bucketUrl) instead of bucket, region and key');
    notFor('endpoint', 'endpoint is only for the Custom provider');
    if (value.key !== undefined)
      context.addIssue({ code: 'custom', path: ['key'], message: 'AWS takes the key as part of bucketUrl' });
  } else if (value.provider !== undefined) {
    notFor('bucketUrl', 'bucketUrl is only for the AWS provider; send bucket, region and key');
    if (value.provider === 'GCP')
      notFor('endpoint', 'GCP always uses https://storage.googleapis.com; endpoint is only for Custom');
  } else {
    for (const field of ['bucketUrl', 'bucket', 'region', 'endpoint'] as const) {
      notFor(field, 'send provider (AWS, GCP or Custom) with the destination');
    }
  }
}

const version = z
  .number({ error: 'version must be the version number you read' })
  .int('version must be a whole number')
  .min(1, 'version must be 1 or more')
  .max(Number.MAX_SAFE_INTEGER, 'version must be at most 2^53 - 1')
  .describe(
    'The `version` this change is based on, as the last answer gave it; an older one is refused with 409 `conflict`.',
  );

const destinationAuth = z.discriminatedUnion(
  'mode',
  [
    z
      .object({
        mode: z.literal('accessKey'),
        accessKeyId: accessKeyIdText,
        secretAccessKey: optionalText(512),
      })
      .strict(),
    z.object({ mode: z.literal('bucketPolicy') }).strict(),
  ],
  { error: 'auth must be {"mode": "accessKey", accessKeyId, secretAccessKey} or {"mode": "bucketPolicy"}' },
);

const destinationFields = {
  name,
  provider: z.enum(PROVIDERS, { error: `provider must be one of ${PROVIDERS.join(', ')}` }),
  bucketUrl: optionalText(2048),
  bucket: optionalText(63),
  region: optionalText(32),
  key: keyPrefix.optional(),
  endpoint: optionalText(2048),
  auth: destinationAuth,
};

/** A new destination: the secret access key is required with an access key (checked by the service). */
export const createDestinationBody = z.object(destinationFields).strict().superRefine(checkProviderFields);
/** A destination's replacement; omit secretAccessKey to keep the stored one (same access key id only). */
export const putDestinationBody = z
  .object({ ...destinationFields, version })
  .strict()
  .superRefine(checkProviderFields);

/** The bucket's name is checked by the service, after the caller's access: another tenant's path answers 404 first. */
export const bucketPolicyQuery = z.object({ bucket: z.string().optional() });

const utcDay = z.iso.date({ error: 'must be a UTC day, YYYY-MM-DD' });
const jobFrequency = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('oneTime'), from: utcDay, to: utcDay }).strict(),
    z
      .object({
        kind: z.literal('recurring'),
        everyHours: z
          .number()
          .int('everyHours must be a whole number')
          .min(4, 'everyHours must be 4 to 24')
          .max(24, 'everyHours must be 4 to 24'),
        startDate: utcDay.optional(),
      })
      .strict(),
  ],
  { error: 'frequency must be {"kind": "oneTime", from, to} or {"kind": "recurring", everyHours, startDate?}' },
);
const identityPriority = z
  .array(z.enum(['identity', 'email', 'phone'], { error: 'each must be identity, email or phone' }))
  .min(1, 'list 1 to 3 of identity, email, phone')
  .max(3, 'list 1 to 3 of identity, email, phone')
  .refine((kinds) => new Set(kinds).size === kinds.length, 'each of identity, email, phone at most once');
const jobFields = {
  destinationId: idParameter,
  type: z.enum(['allEvents', 'selectedEvents', 'userProfiles'], {
    error: 'type must be allEvents, selectedEvents or userProfiles',
  }),
  events: z.array(idText).min(1, 'list 1 to 100 event names').max(100, 'list 1 to 100 event names').optional(),
  identityPriority: identityPriority.optional(),
  frequency: jobFrequency,
  format: z.enum(['json', 'xml', 'csv', 'parquet'], { error: 'format must be json, xml, csv or parquet' }),
  asString: z.boolean({ error: 'asString must be true or false' }).optional(),
  compression: z.enum(['gzip', 'none'], { error: 'compression must be gzip or none' }).optional(),
  notifyEmails: z
    .array(z.email({ error: 'must be an email address' }).max(MAX_EMAIL_CHARS))
    .min(1, 'add 1 to 10 addresses')
    .max(10, 'add 1 to 10 addresses'),
  name: optionalText(200),
};

export const createExportJobBody = z
  .object(jobFields)
  .strict()
  .superRefine((value, context) => {
    if (value.type === 'selectedEvents' && value.events === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['events'],
        message: 'selectedEvents needs events: 1 to 100 event names',
      });
    }
    if (value.type !== 'selectedEvents' && value.events !== undefined) {
      context.addIssue({ code: 'custom', path: ['events'], message: 'events is only for type selectedEvents' });
    }
  });

/** The fields to change (the service checks what the job's state allows), and the version read. */
export const patchExportJobBody = z.object(jobFields).partial().extend({ version }).strict();

const filterOf = <T extends readonly [string, ...string[]]>(values: T, field: string) =>
  z.enum(values, { error: `${field} must be one of ${values.join(', ')}` }).optional();
/** An instant, or a UTC day: its start (`from`), or the start of the next day (`to`, so the day is included). */
const instant = (field: string, day: 'start' | 'end') =>
  z
    .union([z.iso.datetime({ offset: true }), z.iso.date()], { error: `${field} must be an ISO-8601 day or date-time` })
    .transform((value) =>
      value.length === 10 ? Date.parse(`${value}T00:00:00Z`) + (day === 'end' ? 86_400_000 : 0) : Date.parse(value),
    )
    .optional();

export const listExportJobsQuery = z
  .object({
    provider: filterOf(PROVIDERS as unknown as readonly ['AWS', 'GCP', 'Custom'], 'provider'),
    type: filterOf(['allEvents', 'selectedEvents', 'userProfiles'] as const, 'type'),
    format: filterOf(['json', 'xml', 'csv', 'parquet'] as const, 'format'),
    status: filterOf(['PENDING', 'RUNNING', 'DONE', 'STOPPED'] as const, 'status'),
    frequency: filterOf(['oneTime', 'recurring'] as const, 'frequency'),
    exportedFrom: instant('exportedFrom', 'start'),
    exportedTo: instant('exportedTo', 'end'),
    pageSize: z
      .enum(['10', '20', '30', '40'], { error: 'pageSize must be 10, 20, 30 or 40' })
      .default('20')
      .transform(Number),
    cursor: z.string().max(512, 'cursor is not one this API gave').optional(),
  })
  .strict();

export const runHistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** `PUT .../raw-export/settings`: enabling needs a destination and 1-10 addresses (checked by the service). */
export const putRawExportSettingsBody = z
  .object({
    enabled: z.boolean({ error: 'enabled must be true or false' }),
    destinationId: idParameter.optional(),
    notifyEmails: z
      .array(z.email({ error: 'must be an email address' }).max(MAX_EMAIL_CHARS))
      .max(10, 'add at most 10 addresses')
      .default([]),
    version: settingsVersion.optional(),
  })
  .strict();
