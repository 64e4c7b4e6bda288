import * as path from 'node:path';
import { IgnoreMode } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { RUNTIME_SOURCES } from '../layout.js';

/**
 * The extract image builds from the repository root (it compiles core/ and functions/). Synth copies the build
 * context into cdk.out and hashes it on every run, so everything the image cannot need is left out; Docker only
 * runs at deploy time.
 */
const REPOSITORY_CONTEXT_EXCLUDES = [
  '.git',
  'node_modules',
  'dist',
  'cdk.out',
  '.venv',
  '.cache',
  'scratch',
  'out',
  'test-artifacts',
  'cnn-codes-out',
  'jobs',
  '**/__pycache__',
  '**/.pytest_cache',
];

export interface ImageSource {
  directory: string;
  file: string;
  exclude: string[];
  ignoreMode: IgnoreMode;
  platform: Platform;
}

export function extractImageSource(sourceRoot: string): ImageSource {
  return {
    directory: sourceRoot,
    file: RUNTIME_SOURCES.extractDockerfile,
    exclude: REPOSITORY_CONTEXT_EXCLUDES,
    ignoreMode: IgnoreMode.DOCKER,
    // The CUDA execution provider and the GPU instances are x86-64 only.
    platform: Platform.LINUX_AMD64,
  };
}

export function fineTuneImageSource(sourceRoot: string): ImageSource {
  return {
    directory: path.join(sourceRoot, RUNTIME_SOURCES.fineTuneDir),
    file: RUNTIME_SOURCES.fineTuneDockerfile,
    exclude: ['**/__pycache__', '**/.pytest_cache', '.venv'],
    ignoreMode: IgnoreMode.DOCKER,
    platform: Platform.LINUX_AMD64,
  };
}

/** A Batch container's image, built from a source as an asset. */
export function containerImage(source: ImageSource): ecs.ContainerImage {
  return ecs.ContainerImage.fromAsset(source.directory, {
    file: source.file,
    exclude: source.exclude,
    ignoreMode: source.ignoreMode,
    platform: source.platform,
  });
}
