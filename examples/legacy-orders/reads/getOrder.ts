/**
 * `GET /orders/:id` from the read model (`reads` in ../strangler.yaml points here): the order
 * with its items, in the exact JSON the legacy service sends (repository.ts toOrderJson):
 * amounts as strings with 2 decimals, times as ISO UTC with 6 fractional digits, items by
 * sku, the same key order. Written only against the public API, as any team's handler
 * would be. One round trip: the items come back as one JSON array beside the order's columns.
 */
import { defineReadHandler, tableIdent, type ReadHandlerContext } from 'strangler-sidecar/reads';

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`; // timestamp(6) holds UTC wall-clock time

interface Row {
  id: string;
  customer_id: string;
  status: string;
  total_amount: string;
  created_at: string;
  updated_at: string;
  /** `[[sku, quantity, price], …]` by sku, or null without items. */
  items: string | null;
}

export default ({ config, route }: ReadHandlerContext) => {
  const orders = config.readModel.table;
  // The projection's items table sits beside its orders table (same schema).
  const items = orders.includes('.') ? `${orders.slice(0, orders.indexOf('.'))}.order_items` : 'order_items';
  const sql = `SELECT o.id, o.customer_id, o.status, o.total_amount::text AS total_amount,
      to_char(o.created_at, ${ISO}) AS created_at, to_char(o.updated_at, ${ISO}) AS updated_at,
      (SELECT json_agg(json_build_array(i.sku, i.quantity, i.price::text) ORDER BY i.sku)
         FROM ${tableIdent(items)} i WHERE i.order_id = o.id)::text AS items
    FROM ${tableIdent(orders)} o WHERE o.id = $1`;

  // A prepared statement (one name per SQL text): planned once per connection, not per read.
  const name = `orders_read_get_${orders.replace(/\W/g, '_')}`;

  return defineReadHandler({
    route,
    async handle(req, { db }) {
      const id = req.params['id'] ?? '';
      const row = (await db.query<Row>(sql, [id], { name })).rows[0];
      if (!row) return { status: 404, body: { error: 'not_found', message: `Order ${id} not found` } };
      const lines = row.items === null ? [] : (JSON.parse(row.items) as [string, number, string][]);
      return {
        status: 200,
        body: {
          id: row.id,
          customerId: row.customer_id,
          status: row.status,
          totalAmount: row.total_amount,
          items: lines.map(([sku, quantity, price]) => ({ sku, quantity, price })),
          createdAt: row.created_at,
          updatedAt: row.updated_at,
        },
      };
    },
  });
};
