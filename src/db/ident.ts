import { escapeIdentifier } from 'pg';

/**
 * An identifier as a person would paste it into psql: quoted only when it must be. For the
 * statements jobq prints for an admin to run, never for statements jobq sends itself.
 */
export const ident = (name: string): string => (/^[a-z_][a-z0-9_$]*$/.test(name) ? name : escapeIdentifier(name));
