import type { EntityConfig } from '../../config/schema.ts';
import type { RegisteredProjection } from '../../projections/registry.ts';
import type { VerifyTarget } from './verifyStream.ts';

/** One verify target per entity with a projection of its own (`of:X` entities have none). */
export function verifyTargets(
  entities: Readonly<Record<string, EntityConfig>>,
  projections: readonly RegisteredProjection[],
): VerifyTarget[] {
  return projections.flatMap((p) => {
    const entity = entities[p.entity];
    if (!entity) return [];
    return [
      { entity: p.entity, stream: entity.stream, projection: p.module.name, fold: p.module.fold, upcast: (e) => p.upcasters.upcast(e) },
    ];
  });
}
