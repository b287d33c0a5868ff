/**
 * The ports the domain needs. Adapters (lambdas/adapters) implement them for AWS and for local mode;
 * the core and the handlers only ever see these interfaces.
 */
import type {
  AttributeValue,
  CompanyUsage,
  Environment,
  FeatureDefinition,
  Organization,
  Plan,
  SegmentDefinition,
} from './core/model';
import type { Aggregation } from './core/periods';

export interface Clock {
  now(): number;
}

/** Organizations, environments and their definitions (the config table). */
export interface TenantStore {
  /** Fails with ConflictError when the id exists. */
  createOrganization(org: Organization): Promise<void>;
  getOrganization(id: string): Promise<Organization | undefined>;
  /** Returns the updated organization, or undefined when it does not exist. */
  updateOrganizationPlan(id: string, plan: Plan): Promise<Organization | undefined>;
  /** Stores the environment and its ingest-key lookup. */
  createEnvironment(env: Environment): Promise<void>;
  getEnvironment(id: string): Promise<Environment | undefined>;
  findEnvironmentByIngestKey(ingestKey: string): Promise<Environment | undefined>;
  putFeature(environmentId: string, feature: FeatureDefinition): Promise<void>;
  listFeatures(environmentId: string): Promise<FeatureDefinition[]>;
  putSegment(environmentId: string, segment: SegmentDefinition): Promise<void>;
  listSegments(environmentId: string): Promise<SegmentDefinition[]>;
}

export interface CompanyUpdate {
  companyId: string;
  at: number;
  /** Merged into the stored attributes key by key; `name` is the company's name. */
  attributes?: Record<string, AttributeValue>;
}

export interface UserUpdate {
  userId: string;
  at: number;
  /** The company the user belongs to, remembered so later events without a company are attributed. */
  companyId?: string;
}

export interface UsageEvent {
  companyId: string;
  /** The event name; it is use of every feature whose key equals it. */
  eventKey: string;
  at: number;
}

export interface FeedbackRecord {
  companyId: string;
  eventKey: string;
  at: number;
  score: number | null;
}

export interface StreamedCompanyUsage extends CompanyUsage {
  /** Items read from the store to produce this company (for the items-per-pair figure). */
  itemsRead: number;
}

/**
 * Tracking data in its compact form. Every write is an atomic, commutative update: concurrent ingest
 * calls never lose each other's data, and arrival order does not matter.
 */
export interface UsageStore {
  recordCompany(environmentId: string, update: CompanyUpdate): Promise<void>;
  recordUser(environmentId: string, update: UserUpdate): Promise<void>;
  findUserCompany(environmentId: string, userId: string): Promise<string | undefined>;
  /** Records use of the event key and that the company was seen. */
  recordEvent(environmentId: string, event: UsageEvent): Promise<void>;
  /** Records the feedback and that the company was seen. */
  recordFeedback(environmentId: string, feedback: FeedbackRecord): Promise<void>;
  /** Bulk load of precomputed histories (demo data, benchmark), overwriting what is stored for them. */
  putCompanyUsage(environmentId: string, usage: CompanyUsage): Promise<void>;
  /** Every company of the environment with all its usage histories, streamed in company id order. */
  streamCompanyUsage(environmentId: string): AsyncIterable<StreamedCompanyUsage>;
}

export type { ObjectSink } from './core/export/pipeline';

export type ManualExportStatus = 'pending' | 'running' | 'done' | 'failed';

export interface ManualExportJob {
  id: string;
  environmentId: string;
  aggregation: Aggregation;
  status: ManualExportStatus;
  /** The instant the export is "as of": when it was requested, whenever it actually runs. */
  requestedAt: number;
  startedAt?: number;
  finishedAt?: number;
  rowCount?: number;
  byteCount?: number;
  objectKey?: string;
  fileName?: string;
  /** Customer-facing message of a failure. */
  error?: string;
}

export type ManualExportOutcome =
  | { status: 'done'; finishedAt: number; rowCount: number; byteCount: number; objectKey: string; fileName: string }
  | { status: 'failed'; finishedAt: number; error: string };

export interface ManualExportStore {
  create(job: ManualExportJob): Promise<void>;
  get(environmentId: string, id: string): Promise<ManualExportJob | undefined>;
  /**
   * Claims a job for running: pending, or running but abandoned (started before `staleBefore`).
   * False when another worker holds it or it has finished: duplicate deliveries do nothing.
   */
  claim(environmentId: string, id: string, at: number, staleBefore: number): Promise<boolean>;
  finish(environmentId: string, id: string, outcome: ManualExportOutcome): Promise<void>;
}

export interface ManualExportRequest {
  environmentId: string;
  jobId: string;
}

/** Runs a manual export job asynchronously (an async Lambda invocation on AWS, in-process locally). */
export interface ExportDispatcher {
  dispatchManualExport(request: ManualExportRequest): Promise<void>;
}

/** Time-limited download links to objects of the service's exports bucket. */
export interface DownloadLinks {
  createDownloadUrl(key: string, options: { fileName: string; expiresInSeconds: number }): Promise<string>;
}
