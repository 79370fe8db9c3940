/**
 * The shapes admin input must have, shared by the use cases that check it
 * and the HTTP contract that documents it (one definition, no drift).
 */

/** A phone model as vendors spell it (T46S, D785, VVX 450). */
export const MODEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,39}$/;
export const MODEL_RULE = "1-40 characters: letters, digits, space, '.', '_', '+' or '-' (e.g. T46S)";

/** A tenant or site name, compared in lower case (`ACME` is `acme`). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const NAME_RULE = "1-63 characters: letters, digits, '.', '_' or '-', starting with a letter or digit";

/** SIP lines of a device's full configuration. */
export const MAX_LINES = 16;
export const MAX_LINE_FIELD_LENGTH = 128;
/** Values end up in config files: no control characters anywhere. */
export const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;
/** Vendor formats quote these values: a quote or an outer blank would reach the phone altered. */
export const QUOTABLE_VALUE = /^(?:[^"\s](?:[^"]*[^"\s])?)?$/;

/** Audit events per answer. */
export const AUDIT_LIMIT = { min: 1, max: 1000, default: 100 } as const;
