import { ConfigError } from '../errors.js';

/**
 * Where a dataset, a run's workspace or a code cache lives: `s3://bucket/prefix` or a local folder (absolute path or
 * file:// URL). Messages carry these, so a worker can serve any run in the stores it is allowed to open.
 */
export type StoreUri = { scheme: 's3'; bucket: string; prefix: string } | { scheme: 'file'; path: string };

const S3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;

export function parseStoreUri(uri: string): StoreUri {
  const s3 = S3.exec(uri);
  if (s3) {
    const prefix = (s3[2] ?? '').replace(/\/+$/, '');
    if (prefix.split('/').some((part) => part === '..' || part === '.') || prefix.includes('//')) {
      throw new ConfigError(`store URI ${uri}: empty, "." or ".." path segments are not allowed`);
    }
    return { scheme: 's3', bucket: s3[1]!, prefix };
  }
  if (uri.startsWith('s3:'))
    throw new ConfigError(`store URI ${uri}: expected s3://bucket[/prefix] with a valid bucket name`);
  const path = uri.startsWith('file://') ? decodeURIComponent(uri.slice('file://'.length)) : uri;
  if (!path.startsWith('/'))
    throw new ConfigError(`store URI ${uri}: expected s3://bucket/prefix or an absolute local path`);
  if (path.split('/').includes('..')) throw new ConfigError(`store URI ${uri}: ".." path segments are not allowed`);
  return { scheme: 'file', path: path.replace(/(?<=.)\/+$/, '') };
}

export function formatStoreUri(uri: StoreUri): string {
  return uri.scheme === 's3' ? `s3://${uri.bucket}${uri.prefix ? `/${uri.prefix}` : ''}` : uri.path;
}

/** The URI of `child` (a '/'-separated relative key) under `base`. */
export function childUri(base: string, child: string): string {
  return `${base.replace(/\/+$/, '')}/${child}`;
}

/** Splits `…/codes` into the store above it and the last segment, the feature store's prefix inside it. */
export function splitLastSegment(uri: string): { parent: string; name: string } {
  const parsed = parseStoreUri(uri);
  const full = parsed.scheme === 's3' ? parsed.prefix : parsed.path;
  const cut = full.lastIndexOf('/');
  const name = full.slice(cut + 1);
  if (!name) throw new ConfigError(`cache URI ${uri} must end in a folder name (e.g. s3://bucket/codes)`);
  const rest = full.slice(0, Math.max(cut, 0));
  const parent = parsed.scheme === 's3' ? formatStoreUri({ ...parsed, prefix: rest }) : rest || '/';
  return { parent, name };
}
