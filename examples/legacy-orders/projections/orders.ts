/**
 * The orders projection of the sample service (`entities.orders.projection` in
 * ./strangler.yaml points here): a user of the sidecar's public API
 * (`strangler-sidecar/projections`), as any team's module would be. The module lives in
 * ./orders/; this file binds it to the entity's stream template and lists the upcasters
 * of its events.
 */
import type { ProjectionContext } from 'strangler-sidecar/projections';
import { createOrdersProjection, orderUpcasters } from './orders/index.ts';

export default ({ config }: ProjectionContext) => createOrdersProjection({ stream: config.stream });

export const upcasters = orderUpcasters;
