import type BetterSqlite3 from 'better-sqlite3';
import type { Compilable, Kysely } from 'kysely';

const MAX_STATEMENTS = 512;

/**
 * Kysely as a typed query *builder* over the synchronous better-sqlite3 handle: queries are compiled by
 * Kysely and run synchronously with cached prepared statements. Synchronous execution is what makes a
 * domain write one real SQLite transaction (`transaction(fn)`): nothing else can interleave on the single
 * connection while `fn` runs.
 *
 * @example
 * const sdb = new SyncDb(storage.db as Kysely<ApiDatabase>, storage.sqlite);
 * const guild = sdb.first(sdb.q.selectFrom('guilds').selectAll().where('id', '=', id));
 * sdb.transaction(() => sdb.run(sdb.q.deleteFrom('role_grants').where('guild_id', '=', id)));
 */
export class SyncDb<DB> {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(
    /** The Kysely instance used to build and compile queries (never to execute them here). */
    readonly q: Kysely<DB>,
    readonly sqlite: BetterSqlite3.Database,
  ) {}

  /** All rows of a select (or a `returning` statement). */
  all<O>(query: Compilable<O>): O[] {
    const { sql, parameters } = query.compile();
    return this.prepare(sql).all(...(parameters as unknown[])) as O[];
  }

  /** The first row, or undefined. */
  first<O>(query: Compilable<O>): O | undefined {
    const { sql, parameters } = query.compile();
    return this.prepare(sql).get(...(parameters as unknown[])) as O | undefined;
  }

  /** Runs an insert/update/delete; returns the number of changed rows and the last row id. */
  run(query: Compilable<unknown>): { changes: number; lastInsertRowid: number } {
    const { sql, parameters } = query.compile();
    const r = this.prepare(sql).run(...(parameters as unknown[]));
    return { changes: r.changes, lastInsertRowid: Number(r.lastInsertRowid) };
  }

  /** A prepared statement for raw SQL (cached). */
  prepare(sql: string): BetterSqlite3.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      if (this.statements.size >= MAX_STATEMENTS) this.statements.clear();
      stmt = this.sqlite.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Runs `fn` in one SQLite transaction (a savepoint when nested); rolls back when it throws. */
  transaction<T>(fn: () => T): T {
    return this.sqlite.transaction(fn)();
  }
}
