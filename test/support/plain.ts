// Drops keys whose value is undefined, so a decoded packet (one object shape for speed) compares
// equal to a fixture written without them.

export function plain<T>(value: T): T {
  if (Array.isArray(value)) return value.map(plain) as T;
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (inner !== undefined) out[key] = plain(inner);
  }
  return out as T;
}
