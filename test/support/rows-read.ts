import type { KyselyPlugin, QueryId, RootOperationNode } from 'kysely';
import { TableNode } from 'kysely';

/**
 * A Kysely plugin that counts what a database handed back: every query run, the queries that
 * select from `table`, and the rows those returned. Counted on results, not in transformQuery,
 * so a subquery transformed along with its query is not counted as a query of its own.
 */
export class RowsRead implements KyselyPlugin {
  /** Every query run. */
  queries = 0;
  /** Queries selecting from the table. */
  tableQueries = 0;
  /** Rows those queries returned. */
  rows = 0;
  private readonly ofTable = new WeakSet<QueryId>();

  constructor(private readonly table: string) {}

  transformQuery({ node, queryId }: { node: RootOperationNode; queryId: QueryId }): RootOperationNode {
    const from = node.kind === 'SelectQueryNode' ? node.from?.froms : undefined;
    if (from?.some((f) => TableNode.is(f) && f.table.identifier.name === this.table))
      this.ofTable.add(queryId);
    return node;
  }

  async transformResult<R>({ result, queryId }: { result: R & { rows: unknown[] }; queryId: QueryId }) {
    this.queries++;
    if (this.ofTable.has(queryId)) {
      this.tableQueries++;
      this.rows += result.rows.length;
    }
    return result;
  }

  reset(): void {
    this.queries = 0;
    this.tableQueries = 0;
    this.rows = 0;
  }
}
