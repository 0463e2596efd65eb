/**
 * A projection module of its own (docs/extending.md walks through it): the carts read
 * model of a shop whose legacy service the sidecar fronts. It sits in a directory with a
 * CommonJS package.json and imports only the sidecar's public API.
 */
import {
  defineProjection,
  streamCategory,
  streamKeyParser,
  tableIdent,
  tableName,
  type ProjectionContext,
  type ProjectionFold,
  type RecordedEvent,
} from 'strangler-sidecar/projections';

interface Cart {
  exists: boolean;
  owner: string;
  items: number;
  totalCents: number;
  status: 'open' | 'checked_out' | 'deleted';
}

const data = (e: RecordedEvent) => (e.data ?? {}) as Record<string, unknown>;

/** The same rules as `apply`, as a pure fold of one stream: `strangler doctor verify carts-ID` compares the two. */
const cartFold: ProjectionFold<Cart> = {
  kind: 'cart',
  version: 1,
  initial: () => ({ exists: false, owner: '', items: 0, totalCents: 0, status: 'open' }),
  apply(s, e) {
    const d = data(e);
    if (e.type === 'CartCreated') return { exists: true, owner: String(d.owner), items: 0, totalCents: 0, status: 'open' };
    if (!s.exists) return s;
    if (e.type === 'ItemAdded') {
      const quantity = Number(d.quantity);
      return { ...s, items: s.items + quantity, totalCents: s.totalCents + quantity * Number(d.priceCents) };
    }
    if (e.type === 'CartCheckedOut') return { ...s, status: 'checked_out' };
    if (e.type === 'CartDeleted') return { ...s, status: 'deleted' };
    return s;
  },
  serialize: (s) => s,
  deserialize: (json) => json as Cart,
  rows: (s, { id }) => ({
    carts: {
      where: { id },
      rows: s.exists ? [{ id, owner: s.owner, items: String(s.items), total_cents: String(s.totalCents), status: s.status }] : [],
      absent: 'no CartCreated in the stream',
    },
  }),
};

// The sidecar calls the default export with the entity's config: the stream template comes from it.
export default ({ config }: ProjectionContext) => {
  const cartId = streamKeyParser(config.stream);
  return defineProjection({
    name: 'carts',
    version: 1,
    tables: ['carts'],
    streams: [streamCategory(config.stream)],
    handles: ['CartCreated', 'ItemAdded', 'CartCheckedOut', 'CartDeleted'],
    ddl: (t) => `CREATE TABLE IF NOT EXISTS ${tableIdent(tableName(t, 'carts'))} (
      id text PRIMARY KEY, owner text NOT NULL, items integer NOT NULL, total_cents bigint NOT NULL,
      status text NOT NULL, last_version bigint NOT NULL)`,
    // Idempotent per event: a change applies only above the row's last_version, and a
    // deleted cart keeps its row (status deleted), so a replayed CartCreated cannot revive it.
    async apply(tx, events, t) {
      const carts = tableIdent(tableName(t, 'carts'));
      for (const e of events) {
        const id = cartId(e.streamId);
        const d = data(e);
        if (e.type === 'CartCreated') {
          await tx.query(
            `INSERT INTO ${carts} (id, owner, items, total_cents, status, last_version) VALUES ($1, $2, 0, 0, 'open', $3)
             ON CONFLICT (id) DO NOTHING`,
            [id, String(d.owner), e.version],
          );
        } else if (e.type === 'ItemAdded') {
          await tx.query(
            `UPDATE ${carts} SET items = items + $2, total_cents = total_cents + $2 * $3, last_version = $4
              WHERE id = $1 AND last_version < $4`,
            [id, Number(d.quantity), Number(d.priceCents), e.version],
          );
        } else {
          const status = e.type === 'CartCheckedOut' ? 'checked_out' : 'deleted';
          await tx.query(`UPDATE ${carts} SET status = $2, last_version = $3 WHERE id = $1 AND last_version < $3`, [id, status, e.version]);
        }
      }
    },
    fold: cartFold,
  });
};
