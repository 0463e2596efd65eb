/**
 * The orders projection of the sample service (`entities.orders.projection` in
 * config/strangler.yaml points here). The module lives in the sidecar
 * (src/projections/modules/orders/); this file is what a team would write: pick the
 * module, bind it to the entity's stream template, and list the upcasters of its events.
 */
import { createOrdersProjection, orderUpcasters } from '../../../src/projections/modules/orders/index.ts';
import type { ProjectionContext } from '../../../src/projections/registry.ts';

export default ({ config }: ProjectionContext) => createOrdersProjection({ stream: config.stream });

export const upcasters = orderUpcasters;
