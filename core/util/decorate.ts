/**
 * `inner` with some of its methods replaced by `overrides`, and everything else it has forwarded to it: the methods of
 * its interface, the optional capabilities it happens to offer (a blob store's `getRange` and `info`, conditional
 * writes), and fields such as `location`. A capability `inner` lacks stays absent, so a check like
 * `hasConditionalWrites` or `store.info ? … : …` answers for the decorated object as it does for `inner`. A hand-written
 * forwarder lists the interface's required methods and silently drops the rest; this cannot.
 *
 * Members are found once, at decoration, over `inner`'s own properties and its prototype chain (class methods included);
 * methods run bound to `inner`, fields and getters are read through to it when read.
 */
export function decorate<T extends object>(inner: T, overrides: Partial<T>): T {
  const decorated: Record<PropertyKey, unknown> = {};
  for (
    let source: object | null = inner;
    source && source !== Object.prototype;
    source = Object.getPrototypeOf(source)
  ) {
    for (const key of Reflect.ownKeys(source)) {
      if (key === 'constructor' || Object.prototype.hasOwnProperty.call(decorated, key)) continue;
      const value: unknown = Object.getOwnPropertyDescriptor(source, key)?.value;
      if (typeof value === 'function') decorated[key] = (value as (...args: unknown[]) => unknown).bind(inner);
      else Object.defineProperty(decorated, key, { get: () => Reflect.get(inner, key), enumerable: true });
    }
  }
  for (const key of Reflect.ownKeys(overrides))
    Object.defineProperty(decorated, key, { value: Reflect.get(overrides, key), enumerable: true, writable: false });
  return decorated as T;
}
