/**
 * Type OIDs handed back as the server's text, untouched: int8, numeric, date, time,
 * timestamp, timestamptz, timetz, interval, json, jsonb. Everything else uses pg's parsers.
 * A module of its own so the PGlite executor does not load pg for it.
 */
export const RAW_TEXT_OIDS = new Set([20, 1700, 1082, 1083, 1114, 1184, 1266, 1186, 114, 3802]);
