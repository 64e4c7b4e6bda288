import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { SQSClientConfig } from '@aws-sdk/client-sqs';

/**
 * The only place AWS configuration is read from the environment. Follows the AWS SDK v3 conventions:
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_SQS over AWS_ENDPOINT_URL, AWS_REGION over AWS_DEFAULT_REGION, credentials
 * from the default provider chain. An `--endpoint` flag overrides both service endpoints.
 */
export interface AwsFlags {
  endpoint?: string;
  region?: string;
}

/** Credentials given explicitly rather than found by the SDK's default chain (a role assumed by `worker --role`). */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsSettings {
  region: string;
  /** The endpoint for every other service (IAM, STS), where one is configured (AWS_ENDPOINT_URL or --endpoint). */
  endpoint?: string;
  s3Endpoint?: string;
  sqsEndpoint?: string;
  /** Dummy keys for an emulator when no credentials are configured (moto and LocalStack accept any). */
  emulatorCredentials?: { accessKeyId: string; secretAccessKey: string };
  /** Used instead of the default chain (and of `emulatorCredentials`) when set. */
  credentials?: Credentials;
}

export const DEFAULT_REGION = 'us-east-1';

export function awsSettings(flags: AwsFlags = {}, env: NodeJS.ProcessEnv = process.env): AwsSettings {
  const ignoreEnv = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true';
  const shared = flags.endpoint ?? (ignoreEnv ? undefined : env.AWS_ENDPOINT_URL);
  const s3Endpoint = flags.endpoint ?? (ignoreEnv ? undefined : env.AWS_ENDPOINT_URL_S3) ?? shared;
  const sqsEndpoint = flags.endpoint ?? (ignoreEnv ? undefined : env.AWS_ENDPOINT_URL_SQS) ?? shared;
  for (const url of [s3Endpoint, sqsEndpoint]) {
    if (url !== undefined && !/^https?:\/\/[^/\s]+/.test(url))
      throw new Error(`AWS endpoint must be an http(s) URL, got "${url}"`);
  }
  const hasCredentials = Boolean(
    env.AWS_ACCESS_KEY_ID ||
    env.AWS_PROFILE ||
    env.AWS_WEB_IDENTITY_TOKEN_FILE ||
    env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ||
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI,
  );
  return {
    region: flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? DEFAULT_REGION,
    ...(shared ? { endpoint: shared } : {}),
    ...(s3Endpoint ? { s3Endpoint } : {}),
    ...(sqsEndpoint ? { sqsEndpoint } : {}),
    ...((s3Endpoint || sqsEndpoint) && !hasCredentials
      ? { emulatorCredentials: { accessKeyId: 'test', secretAccessKey: 'test' } }
      : {}),
  };
}

export function s3ClientConfig(settings: AwsSettings): S3ClientConfig {
  return {
    region: settings.region,
    // Emulators serve buckets under the path, not as virtual hosts (no wildcard DNS on localhost).
    ...(settings.s3Endpoint ? { endpoint: settings.s3Endpoint, forcePathStyle: true } : {}),
    ...credentialsOf(settings),
  };
}

export function sqsClientConfig(settings: AwsSettings): SQSClientConfig {
  return {
    region: settings.region,
    ...(settings.sqsEndpoint ? { endpoint: settings.sqsEndpoint } : {}),
    ...credentialsOf(settings),
  };
}

/** The explicit credentials a client of these settings is given, if any. */
export function credentialsOf(settings: AwsSettings): { credentials?: Credentials } {
  const credentials = settings.credentials ?? settings.emulatorCredentials;
  return credentials ? { credentials } : {};
}
