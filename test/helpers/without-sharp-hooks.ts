type Resolve = (specifier: string, context: unknown) => Promise<unknown>;

/** Module resolve hook (see without-sharp.ts): every import of sharp fails the way a missing package does. */
export async function resolve(specifier: string, context: unknown, next: Resolve): Promise<unknown> {
  if (specifier === 'sharp' || specifier.startsWith('sharp/')) {
    throw Object.assign(new Error(`Cannot find package '${specifier}' (hidden by the test's without-sharp hook)`), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
  }
  return next(specifier, context);
}
