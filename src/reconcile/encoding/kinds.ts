/**
 * What a compared column holds once both sides agree on it. Each kind has one canonical
 * text form (see canonical.ts) and a one-byte tag in the row encoding, so that the same
 * bytes mean the same value whatever database they came from.
 */
export type ColumnKind = 'integer' | 'decimal' | 'float' | 'string' | 'bool' | 'date' | 'timestamp' | 'json' | 'uuid' | 'bytes';

/** Rules applied to both sides before a value is encoded (config `reconcile.rules`). */
export type ColumnRule = 'trim' | 'rtrim' | 'lowercase' | 'empty_as_null';

/** One compared column: which column on each side, and how its values are made canonical. */
export interface ColumnPlan {
  legacy: string;
  readModel: string;
  kind: ColumnKind;
  /** decimal: digits after the point (the larger declared scale of the two sides). */
  scale: number;
  /** timestamp: fractional digits kept (the lower precision of the two sides). */
  fraction: number;
  /** float: significant digits compared (6 for single precision, 15 for double). */
  digits: number;
  rules: readonly ColumnRule[];
  /** Declared types (information_schema DATA_TYPE) of each side: the in-database prefilter writes its SQL from them. */
  types: { legacy: string; readModel: string };
}

/** Tags of the row encoding. NULL has its own, so NULL, '' and the text 'NULL' all differ. */
export const TAG: Readonly<Record<ColumnKind | 'null' | 'raw', number>> = {
  null: 0x4e, // N
  integer: 0x49, // I
  decimal: 0x44, // D
  float: 0x46, // F
  string: 0x53, // S
  bool: 0x42, // B
  date: 0x41, // A
  timestamp: 0x54, // T
  json: 0x4a, // J
  uuid: 0x55, // U
  bytes: 0x58, // X
  // A value that does not parse as its column's kind (e.g. 'abc' in a text column compared
  // with a number): kept as its text so the row differs and the sample shows why.
  raw: 0x52, // R
};
