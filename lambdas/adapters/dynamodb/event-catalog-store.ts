/**
 * The event catalog in the usage table (string keys `pk`, `sk`):
 *
 *   ENV#<envId>#EVENTS   E#<hex(name)>                 name, firstSeen, lastSeen, eventCount
 *   ENV#<envId>#EVENTS   E#<hex(name)>#K#<hex(key)>    name, propertyKey
 *
 * One item per property key keeps every item small however many keys an event collects; adding a key
 * is an idempotent write. Hex digits sort after '#', so an event's key items follow its own item and
 * one paginated Query reads the whole catalog in name order.
 */
import { QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventCatalogEntry, EventCatalogStore, EventSighting } from '../../ports';

const catalogPk = (environmentId: string) => `ENV#${environmentId}#EVENTS`;
const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');
const eventSk = (name: string) => `E#${hex(name)}`;

export class DynamoDbEventCatalogStore implements EventCatalogStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string }) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async record(environmentId: string, sightings: readonly EventSighting[]): Promise<void> {
    const pk = catalogPk(environmentId);
    await Promise.all(
      sightings.flatMap((sighting) => [
        this.update(pk, eventSk(sighting.name), {
          UpdateExpression:
            'SET #name = :name, #firstSeen = if_not_exists(#firstSeen, :firstSeen), #lastSeen = :lastSeen ADD #count :count',
          ExpressionAttributeNames: {
            '#name': 'name',
            '#firstSeen': 'firstSeen',
            '#lastSeen': 'lastSeen',
            '#count': 'eventCount',
          },
          ExpressionAttributeValues: {
            ':name': sighting.name,
            ':firstSeen': sighting.firstSeen,
            ':lastSeen': sighting.lastSeen,
            ':count': sighting.count,
          },
        }),
        ...sighting.propertyKeys.map((key) =>
          this.update(pk, `${eventSk(sighting.name)}#K#${hex(key)}`, {
            UpdateExpression: 'SET #name = :name, #key = :key',
            ExpressionAttributeNames: { '#name': 'name', '#key': 'propertyKey' },
            ExpressionAttributeValues: { ':name': sighting.name, ':key': key },
          }),
        ),
      ]),
    );
  }

  async list(environmentId: string): Promise<EventCatalogEntry[]> {
    const entries = new Map<string, EventCatalogEntry>();
    const entry = (name: string) => {
      let found = entries.get(name);
      if (!found) {
        found = { name, firstSeen: 0, lastSeen: 0, count: 0, propertyKeys: [] };
        entries.set(name, found);
      }
      return found;
    };
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': catalogPk(environmentId) },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const found = entry(item.name as string);
        if (typeof item.propertyKey === 'string') {
          found.propertyKeys.push(item.propertyKey);
        } else {
          Object.assign(found, {
            firstSeen: item.firstSeen as number,
            lastSeen: item.lastSeen as number,
            count: item.eventCount as number,
          });
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    return [...entries.values()]
      .sort((a, b) => byText(a.name, b.name))
      .map((e) => ({ ...e, propertyKeys: e.propertyKeys.sort(byText) }));
  }

  private async update(
    pk: string,
    sk: string,
    expression: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>,
  ): Promise<void> {
    await this.client.send(new UpdateCommand({ TableName: this.tableName, Key: { pk, sk }, ...expression }));
  }
}
