/**
 * Validation against the shipped JSON Schema (schemas/manifest.schema.json). Errors name the
 * manifest file and the JSON pointer of the offending field.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import schema from '../../../schemas/manifest.schema.json';
import { FormatError } from '../errors';
import { checkManifestContent } from './content';
import type { Manifest } from './types';

const MAX_REPORTED_ERRORS = 5;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

let validator: ValidateFunction | undefined;

function compiled(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
    ajv.addFormat('date-time', ISO_DATE_TIME);
    validator = ajv.compile(schema);
  }
  return validator;
}

/** The schema document, e.g. for an editor's JSON validation. */
export const manifestSchema: unknown = schema;

export interface SchemaProblem {
  /** JSON pointer of the offending value ("" for the top level). */
  pointer: string;
  message: string;
}

/** Every way `value` breaks the schema, in the validator's order; [] when it is a valid manifest. */
export function manifestSchemaProblems(value: unknown): SchemaProblem[] {
  const validate = compiled();
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` "${String(e.params.additionalProperty)}"` : '';
    return { pointer: e.instancePath, message: `${e.message ?? 'is invalid'}${extra}` };
  });
}

/**
 * Returns the value typed as a Manifest, or throws a FormatError listing what is wrong and where:
 * the schema, then what a schema cannot say (./content).
 */
export function validateManifest(value: unknown, file: string): Manifest {
  const problems = manifestSchemaProblems(value);
  if (!problems.length) {
    // What a schema cannot say (./content: finite numbers, no duplicates, paths that stay home).
    checkManifestContent(value as Manifest, file);
    return value as Manifest;
  }
  const errors = problems.slice(0, MAX_REPORTED_ERRORS).map((p) => `${p.pointer || '(top level)'} ${p.message}`);
  const more = problems.length > MAX_REPORTED_ERRORS ? ` (and ${problems.length - MAX_REPORTED_ERRORS} more)` : '';
  throw new FormatError(`not a valid Llama-Pajamas manifest: ${errors.join('; ')}${more}`, { path: file });
}
