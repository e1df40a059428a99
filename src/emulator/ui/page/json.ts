/**
 * Readers for Block Kit JSON. Blocks come from whatever the bot sent, so every field is checked
 * before use instead of trusting a declared shape.
 */

export type Json = Record<string, unknown>;

export const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The object at `key`, if it is one. */
export const child = (object: Json | undefined, key: string): Json | undefined => {
  const value = object?.[key];
  return isJson(value) ? value : undefined;
};

/** The string at `key`, if it is one. */
export const str = (object: Json | undefined, key: string): string | undefined => {
  const value = object?.[key];
  return typeof value === 'string' ? value : undefined;
};

/** The objects of the array at `key` (anything else in it is skipped). */
export const children = (object: Json | undefined, key: string): Json[] => {
  const value = object?.[key];
  return Array.isArray(value) ? value.filter(isJson) : [];
};

/** The text of a text object ({type, text}) at `key`. */
export const textOf = (object: Json | undefined, key: string): string | undefined => str(child(object, key), 'text');
