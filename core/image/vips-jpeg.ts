import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Pixels as a decoder hands them over: interleaved, 8 bits a sample. */
export interface DecodedPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/**
 * libvips' JPEG loader (sharp's own libvips, hence the same libjpeg-turbo and the same pixels as
 * `sharp(bytes, { failOn: 'warning', ignoreIcc: true }).raw()`), called through its C API in the calling thread and
 * decoding straight into a Node buffer: no sharp pipeline, no hop to libuv's thread pool, no libvips thread pool, no
 * intermediate copy. On hymenoptera that halves what sharp adds on top of libjpeg-turbo's own work
 * (bench/results/decode.json: the "in-thread" row against "sharp decode to raw").
 *
 * Answers `undefined` for any JPEG libjpeg decodes with a warning or an error (failOn 'warning', as sharp is asked),
 * so the caller sends it to the sharp pipeline, which words the reject. Synchronous: the thread is busy for the
 * decode, as it would be waiting for sharp's promise.
 */
export type VipsJpegDecode = (bytes: Uint8Array) => DecodedPixels | undefined;

const VIPS_FAIL_ON_WARNING = 3;
const VIPS_ACCESS_SEQUENTIAL = 1;
const VIPS_FORMAT_UCHAR = 0;

let loaded: VipsJpegDecode | null | undefined;

/**
 * The in-thread decoder, or `undefined` where it cannot be had: the FFI library (koffi) missing, or no libvips loaded
 * in this process that exports the C API (sharp must be imported first; found through /proc/self/maps, so Linux
 * only). Callers then keep to sharp's pipeline, which gives the same pixels.
 */
export function vipsJpegDecoder(): VipsJpegDecode | undefined {
  if (loaded === undefined) {
    try {
      loaded = bindVips(loadedLibvips());
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

/** The path of the libvips that sharp loaded into this process. */
function loadedLibvips(): string {
  const maps = readFileSync('/proc/self/maps', 'utf8');
  const line = maps.split('\n').find((l) => /\/libvips(-cpp)?\.so[.\d]*$/.test(l));
  if (!line) throw new Error('libvips is not loaded in this process');
  return line.slice(line.indexOf('/'));
}

type Koffi = typeof import('koffi');
type Pointer = unknown;

function bindVips(libraryPath: string): VipsJpegDecode {
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const lib = koffi.load(libraryPath);
  const rect = koffi.struct({ left: 'int', top: 'int', width: 'int', height: 'int' });
  const jpegloadBuffer = lib.func('vips_jpegload_buffer', 'int', [
    'void *',
    'size_t',
    koffi.out(koffi.pointer('void *')),
    '...',
  ]);
  const imageFromMemory = lib.func('vips_image_new_from_memory', 'void *', [
    'void *',
    'size_t',
    'int',
    'int',
    'int',
    'int',
  ]);
  const regionNew = lib.func('vips_region_new', 'void *', ['void *']);
  const regionImage = lib.func('vips_region_image', 'int', ['void *', koffi.pointer(rect)]);
  const regionPrepareTo = lib.func('vips_region_prepare_to', 'int', [
    'void *',
    'void *',
    koffi.pointer(rect),
    'int',
    'int',
  ]);
  const unref = lib.func('g_object_unref', 'void', ['void *']);
  const width = lib.func('vips_image_get_width', 'int', ['void *']);
  const height = lib.func('vips_image_get_height', 'int', ['void *']);
  const bands = lib.func('vips_image_get_bands', 'int', ['void *']);
  const errorClear = lib.func('vips_error_clear', 'void', []);

  return (bytes) => {
    const out: Pointer[] = [null];
    // Options as name/value pairs, NULL-terminated (the C API's varargs). The load goes through libvips' operation
    // cache as sharp's own do: off in extraction workers (configureSharpForWorker), elsewhere bounded by sharp's
    // setting (100 operations, 50 MB). A cached load keeps `bytes`' address but is never evaluated again: a hit needs
    // the same blob, which the cache itself keeps alive, so no later call can match it.
    const failed = jpegloadBuffer(
      bytes,
      bytes.length,
      out,
      'str',
      'fail_on',
      'int',
      VIPS_FAIL_ON_WARNING,
      'str',
      'access',
      'int',
      VIPS_ACCESS_SEQUENTIAL,
      'void *',
      null,
    ) as number;
    if (failed !== 0 || !out[0]) {
      errorClear();
      return undefined;
    }
    const image = out[0];
    const owned: Pointer[] = [image];
    try {
      const [w, h, c] = [width(image) as number, height(image) as number, bands(image) as number];
      const data = Buffer.allocUnsafe(w * h * c);
      const whole = { left: 0, top: 0, width: w, height: h };
      const target = imageFromMemory(data, data.length, w, h, c, VIPS_FORMAT_UCHAR);
      if (!target) return void errorClear();
      owned.push(target);
      const source = regionNew(image);
      if (!source) return void errorClear();
      owned.push(source);
      const destination = regionNew(target);
      if (!destination) return void errorClear();
      owned.push(destination);
      // The destination region is the buffer's memory: libjpeg's scanlines are written into it.
      if (regionImage(destination, whole) !== 0 || regionPrepareTo(source, destination, whole, 0, 0) !== 0) {
        errorClear();
        return undefined;
      }
      return { data, width: w, height: h, channels: c };
    } finally {
      // Regions before the images they hold.
      for (const object of owned.reverse()) unref(object);
    }
  };
}
