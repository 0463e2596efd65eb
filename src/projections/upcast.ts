import type { RecordedEvent } from '../eventstore/types.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import type { Upcaster } from './types.ts';

/**
 * Schema evolution on the way into handlers: events carry `metadata.schemaVersion`
 * (missing = 1), and the upcasters registered per (type, fromVersion) lift an old shape
 * one version at a time (v1 → v2 → v3 …) until no upcaster is left for its version.
 *
 * What must stay true: the stored event is never touched. `upcast` returns a new event
 * object (new metadata, new data) and leaves the one it was given exactly as it was, so a
 * rebuild over a log holding v1 and v2 shapes sees only the current shape, and published
 * events are never rewritten.
 */
export interface UpcasterRegistry {
  /** The event in its current shape; the same object when nothing applies. */
  upcast(event: RecordedEvent): RecordedEvent;
  /** The version an event of this type ends at after upcasting (1 when none is registered). */
  currentVersion(type: string): number;
}

/** Metadata key of the schema version (set by the capture, read here). */
export const SCHEMA_VERSION_KEY = 'schemaVersion';

export function createUpcasterRegistry(upcasters: readonly Upcaster[]): UpcasterRegistry {
  const byType = new Map<string, Map<number, Upcaster>>();
  for (const u of upcasters) {
    if (!Number.isInteger(u.fromVersion) || u.fromVersion < 1) {
      throw new StranglerError(
        'invalid_upcaster',
        `Upcaster for ${u.type} has fromVersion ${String(u.fromVersion)}; use an integer >= 1, e.g. { type: '${u.type}', fromVersion: 1, up }.`,
      );
    }
    const versions = byType.get(u.type) ?? new Map<number, Upcaster>();
    if (versions.has(u.fromVersion)) {
      throw new StranglerError(
        'invalid_upcaster',
        `Two upcasters for ${u.type} from version ${u.fromVersion}; register one per (type, fromVersion).`,
      );
    }
    versions.set(u.fromVersion, u);
    byType.set(u.type, versions);
  }

  const currentVersion = (type: string): number => {
    const versions = byType.get(type);
    let v = 1;
    while (versions?.has(v)) v++;
    return v;
  };

  return {
    currentVersion,
    upcast(event) {
      const versions = byType.get(event.type);
      if (!versions) return event;
      let version = schemaVersionOf(event);
      let data = event.data;
      const from = version;
      for (let step = versions.get(version); step; step = versions.get(version)) {
        data = step.up(data, event);
        version++;
      }
      if (version === from) return event;
      return { ...event, data, metadata: { ...event.metadata, [SCHEMA_VERSION_KEY]: version, upcastFrom: from } };
    },
  };
}

/** metadata.schemaVersion; 1 when absent (events captured before versions existed). */
export function schemaVersionOf(event: RecordedEvent): number {
  const raw = event.metadata[SCHEMA_VERSION_KEY];
  if (raw === undefined || raw === null) return 1;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1) {
    throw new StranglerError(
      'invalid_schema_version',
      `Event ${event.id} (${event.type}) has metadata.schemaVersion ${JSON.stringify(raw)}; expected an integer >= 1.`,
      {
        details: { eventId: event.id, position: event.position },
      },
    );
  }
  return raw;
}
