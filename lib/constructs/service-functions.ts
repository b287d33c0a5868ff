/** What the constructs of the stack share to create and grant their functions. */
import { CfnElement } from 'aws-cdk-lib';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { IKey } from 'aws-cdk-lib/aws-kms';
import { Table, TableGrants } from 'aws-cdk-lib/aws-dynamodb';
import { Construct, IConstruct } from 'constructs';
import { ServiceFunction, ServiceFunctionProps } from './service-function';

/** Options of a {@link ServiceFunctionFactory}. */
export interface AddServiceFunctionOptions extends Omit<ServiceFunctionProps, 'entry' | 'serviceName' | 'logLevel'> {
  /** Entry file name inside the handlers directory, e.g. `run-export.ts`. */
  readonly entryFile: string;
}

/**
 * Creates a {@link ServiceFunction} in `scope` with the environment every function shares (tables,
 * stage, log level, service name) under `options.environment`; it grants nothing.
 */
export type ServiceFunctionFactory = (
  scope: Construct,
  id: string,
  options: AddServiceFunctionOptions,
) => ServiceFunction;

/**
 * Item-level grants on `table` itself. `table.grant*Data` would also grant `<table>/index/*` once the
 * table has an index; indexes are granted by name, to the functions that query them.
 */
export function tableItems(table: Table): TableGrants {
  return TableGrants.fromTable(table, [], false);
}

/** `dynamodb:Query` on the named indexes of `table` only. */
export function grantQueryIndexes(fn: ServiceFunction, table: Table, indexNames: readonly string[]): Grant {
  return Grant.addToPrincipal({
    grantee: fn,
    actions: ['dynamodb:Query'],
    resourceArns: indexNames.map((name) => `${table.tableArn}/index/${name}`),
  });
}

/**
 * Encryption context every sealed destination secret carries (`purpose`, next to its `environmentId`):
 * the functions may use the key only under it, so the key cannot seal or unseal anything else for them.
 */
export const DESTINATION_SECRET_CONTEXT = { key: 'purpose', value: 'destination-secret' } as const;

/** `actions` on the destination secrets key, only under the destination secrets' encryption context. */
export function grantDestinationSecrets(key: IKey, fn: ServiceFunction, ...actions: string[]): Grant {
  return Grant.addToPrincipal({
    grantee: fn,
    actions,
    resourceArns: [key.keyArn],
    conditions: {
      StringEquals: { [`kms:EncryptionContext:${DESTINATION_SECRET_CONTEXT.key}`]: DESTINATION_SECRET_CONTEXT.value },
    },
  });
}

/**
 * Keeps the logical id a resource had before it moved into a construct. Only for what would break if
 * replaced: what the schedules created at run time name (run-export, the scheduler role, the schedule
 * group and its dead-letter queue) and the role customers' bucket policies name.
 */
export function keepLogicalId(construct: IConstruct, logicalId: string): void {
  (construct.node.defaultChild as CfnElement).overrideLogicalId(logicalId);
}
