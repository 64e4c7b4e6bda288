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
 * decoding straight into memory the caller gives: no sharp pipeline, no hop to libuv's thread pool, no libvips thread
 * pool, no intermediate copy. On hymenoptera that halves what sharp adds on top of libjpeg-turbo's own work
 * (bench/results/decode.json: the "in-thread" rows against "sharp decode to raw").
 *
 * Fails (`undefined`, `false`) for any JPEG libjpeg decodes with a warning or an error (failOn 'warning', as sharp is
 * asked), so the caller sends it to the sharp pipeline, which words the reject. Synchronous: the thread is busy for
 * the decode, as it would be waiting for sharp's promise.
 */
export interface VipsJpeg {
  /** The whole image, into a new buffer. */
  decode: (bytes: Uint8Array) => DecodedPixels | undefined;
  /**
   * Rows [from, to) of an image that must be `width` × `height` with 3 bands, into `into` (`width` × 3 bytes a row;
   * libjpeg decodes the other rows too, as it must to check the whole file, but nothing copies them). False where the
   * image is not that size or the decode fails.
   */
  decodeRowsInto: (
    bytes: Uint8Array,
    size: { width: number; height: number },
    from: number,
    to: number,
    into: Uint8Array,
  ) => boolean;
  /**
   * A JPEG or an 8-bit PNG, whole, with its EXIF orientation (1–8) left for the caller to apply: the cheap decode
   * behind an image's signature (core/image/gray-thumbnail.ts). `shrinkFor` is told the declared size and answers
   * libjpeg's DCT scaling (1, 2, 4 or 8; a PNG only 1), or undefined to refuse it; at 1 the header's load is the one
   * decoded. Undefined where refused, where the loader fails, or warns on a JPEG.
   */
  decodeSmall: (
    bytes: Uint8Array,
    format: 'jpeg' | 'png',
    shrinkFor: (width: number, height: number) => number | undefined,
  ) => (DecodedPixels & { orientation: number }) | undefined;
}

const VIPS_FAIL_ON_WARNING = 3;
const VIPS_ACCESS_SEQUENTIAL = 1;
const VIPS_FORMAT_UCHAR = 0;

let loaded: VipsJpeg | null | undefined;

/**
 * The in-thread decoder, or `undefined` where it cannot be had: the FFI library (koffi) missing, or sharp's libvips
 * not loaded in this process (sharp must be imported first) under the name its prebuilt package gives it. Callers then
 * keep to sharp's pipeline, which gives the same pixels.
 */
export function vipsJpeg(): VipsJpeg | undefined {
  if (loaded === undefined) {
    try {
      loaded = bindVips(loadedLibvips());
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

/**
 * The libvips sharp loaded, by the name the dynamic loader knows it under: sharp's prebuilt libvips (Linux) has the
 * soname libvips-cpp.so.<version>, and asking for a loaded library by its soname returns it, without a search of the
 * disk. A libvips of the system's (sharp built from source, other platforms' names) is not found so: the fallback.
 */
function loadedLibvips(): string {
  if (process.platform !== 'linux') throw new Error('only Linux names sharp libvips by this soname');
  const sharp = createRequire(import.meta.url)('sharp') as { versions: { vips: string } };
  return `libvips-cpp.so.${sharp.versions.vips}`;
}

type Koffi = typeof import('koffi');
type Pointer = unknown;

function bindVips(libraryPath: string): VipsJpeg {
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const lib = koffi.load(libraryPath);
  const rect = koffi.struct({ left: 'int', top: 'int', width: 'int', height: 'int' });
  const loader = (name: string) =>
    lib.func(name, 'int', ['void *', 'size_t', koffi.out(koffi.pointer('void *')), '...']);
  const jpegloadBuffer = loader('vips_jpegload_buffer');
  const pngloadBuffer = loader('vips_pngload_buffer');
  const getOrientation = lib.func('vips_image_get_orientation', 'int', ['void *']);
  const getFormat = lib.func('vips_image_get_format', 'int', ['void *']);
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
  const regionPrepare = lib.func('vips_region_prepare', 'int', ['void *', koffi.pointer(rect)]);
  const regionPrepareTo = lib.func('vips_region_prepare_to', 'int', [
    'void *',
    'void *',
    koffi.pointer(rect),
    'int',
    'int',
  ]);
  const unref = lib.func('g_object_unref', 'void', ['void *']);
  const getWidth = lib.func('vips_image_get_width', 'int', ['void *']);
  const getHeight = lib.func('vips_image_get_height', 'int', ['void *']);
  const getBands = lib.func('vips_image_get_bands', 'int', ['void *']);
  const errorClear = lib.func('vips_error_clear', 'void', []);

  /** The loader's image (owned by the caller), or undefined with libvips' error cleared. */
  function load(bytes: Uint8Array): Pointer | undefined {
    return loadWith(jpegloadBuffer, bytes, []);
  }

  /** A loader's image (owned by the caller) with options as name/type/value triples, or undefined, error cleared. */
  function loadWith(fn: typeof jpegloadBuffer, bytes: Uint8Array, extra: unknown[]): Pointer | undefined {
    const out: Pointer[] = [null];
    // Options as name/value pairs, NULL-terminated (the C API's varargs). The load goes through libvips' operation
    // cache as sharp's own do: off in extraction workers (configureSharpForWorker), elsewhere bounded by sharp's
    // setting (100 operations, 50 MB). A cached load keeps `bytes`' address but is never evaluated again: a hit needs
    // the same blob, which the cache itself keeps alive, so no later call can match it.
    const failed = fn(
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
      ...extra,
      'void *',
      null,
    ) as number;
    if (failed === 0 && out[0]) return out[0];
    errorClear();
    return undefined;
  }

  /**
   * Rows [from, to) of the loaded image into `into`, through a memory image over it: libjpeg's scanlines are written
   * there. `into` (a Node buffer or a WebAssembly memory's view) must stay where it is for the call, which it does: it
   * is referenced throughout, and neither kind of memory moves. The rows below `to` are decoded too, into libvips' own
   * region, and thrown away: a file corrupt only there is rejected, as sharp and the whole decode reject it.
   */
  function rowsInto(
    image: Pointer,
    width: number,
    height: number,
    bands: number,
    from: number,
    to: number,
    into: Uint8Array,
  ): boolean {
    const owned: Pointer[] = [];
    let done = false;
    try {
      const target = imageFromMemory(into, width * (to - from) * bands, width, to - from, bands, VIPS_FORMAT_UCHAR);
      if (!target) return false;
      owned.push(target);
      const source = regionNew(image);
      if (!source) return false;
      owned.push(source);
      const destination = regionNew(target);
      if (!destination) return false;
      owned.push(destination);
      const whole = { left: 0, top: 0, width, height: to - from };
      const wanted = { left: 0, top: from, width, height: to - from };
      const rest = { left: 0, top: to, width, height: height - to };
      done =
        regionImage(destination, whole) === 0 &&
        regionPrepareTo(source, destination, wanted, 0, 0) === 0 &&
        (to === height || regionPrepare(source, rest) === 0);
      return done;
    } finally {
      // Regions before the images they hold.
      for (const object of owned.reverse()) unref(object);
      if (!done) errorClear();
    }
  }

  const sizeOf = (image: Pointer) => [getWidth(image), getHeight(image), getBands(image)] as [number, number, number];

  /** The whole loaded image, into a new buffer. */
  function whole(image: Pointer): DecodedPixels | undefined {
    const [w, h, c] = sizeOf(image);
    const data = Buffer.allocUnsafe(w * h * c);
    return rowsInto(image, w, h, c, 0, h, data) ? { data, width: w, height: h, channels: c } : undefined;
  }

  return {
    decode(bytes) {
      const image = load(bytes);
      if (!image) return undefined;
      try {
        return whole(image);
      } finally {
        unref(image);
      }
    },
    decodeSmall(bytes, format, shrinkFor) {
      const fn = format === 'jpeg' ? jpegloadBuffer : pngloadBuffer;
      let image = loadWith(fn, bytes, []);
      try {
        if (!image) return undefined;
        const shrink = shrinkFor(getWidth(image) as number, getHeight(image) as number);
        if (shrink === undefined || (shrink !== 1 && format !== 'jpeg')) return undefined;
        if (shrink !== 1) {
          unref(image);
          image = loadWith(fn, bytes, ['str', 'shrink', 'int', shrink]);
          if (!image) return undefined;
        }
        if (getFormat(image) !== VIPS_FORMAT_UCHAR) return undefined;
        const pixels = whole(image);
        return pixels && { ...pixels, orientation: getOrientation(image) as number };
      } finally {
        if (image) unref(image);
      }
    },
    decodeRowsInto(bytes, size, from, to, into) {
      if (from < 0 || to > size.height || from >= to || into.length < size.width * 3 * (to - from)) return false;
      const image = load(bytes);
      if (!image) return false;
      try {
        const [w, h, c] = sizeOf(image);
        return w === size.width && h === size.height && c === 3 && rowsInto(image, w, h, c, from, to, into);
      } finally {
        unref(image);
      }
    },
  };
}
