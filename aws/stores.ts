import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../core/errors.js';
import { FeatureStore } from '../core/features/feature-store.js';
import { parseStoreUri, splitLastSegment } from '../core/messages/store-uri.js';
import type { BlobStore } from '../core/ports/blob-store.js';
import { indexCachingFeatureStore } from '../core/features/shard-list-catalog.js';
import { S3BlobStore } from './s3-blob-store.js';

export interface StorePolicy {
  /** Buckets messages may name; a message naming another bucket is rejected (and dead-lettered). */
  buckets: ReadonlySet<string>;
}

/** Opens the stores messages name, one object per URI per process, within what this worker is allowed to touch. */
export class StoreResolver {
  private readonly stores = new Map<string, BlobStore>();
  private readonly writers = new Map<string, FeatureStore>();
  private readonly lookups = new Map<string, FeatureStore>();

  constructor(
    private readonly s3: S3Client,
    private readonly policy: StorePolicy,
  ) {}

  open = (uri: string): BlobStore => {
    let store = this.stores.get(uri);
    if (store) return store;
    const parsed = parseStoreUri(uri);
    if (parsed.scheme !== 's3') throw new ConfigError(`local folders are not served by this worker: ${uri}`);
    if (!this.policy.buckets.has(parsed.bucket))
      throw new ConfigError(
        `bucket ${parsed.bucket} is not one this worker serves (${[...this.policy.buckets].join(', ')})`,
      );
    store = new S3BlobStore(this.s3, parsed.bucket, parsed.prefix);
    this.stores.set(uri, store);
    return store;
  };

  /**
   * Writers and lookups keep their index between messages; readers start fresh so a long-lived function does not
   * hoard shards.
   */
  features = (uri: string, purpose: 'write' | 'read' | 'lookup'): FeatureStore => {
    const { parent, name } = splitLastSegment(uri);
    if (purpose === 'read') return new FeatureStore(this.open(parent), name);
    const kept = purpose === 'write' ? this.writers : this.lookups;
    let store = kept.get(uri);
    if (!store) {
      store = indexCachingFeatureStore(this.open(parent), name, { readOnly: purpose === 'lookup' });
      kept.set(uri, store);
    }
    return store;
  };
}
