/** `{ key: value }` when value is defined, `{}` otherwise: keeps optional fields absent rather than undefined. */
export function optional<K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: T };
}
