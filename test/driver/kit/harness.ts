/**
 * The driver contract kit (issue #10, item 4), modelled on River's `riverdrivertest`: one exercise per
 * {@link Driver} method, written once against the interface and run unchanged by every dialect
 * (`test/driver/kit-sqlite.test.ts`, `test/driver/kit-postgres.pg.test.ts`). Where `test/driver/conformance.ts`
 * proves behaviour through the `Flywheel` facade, the kit pins what each driver method itself promises, so a
 * driver change starts from a failing kit case.
 *
 * Each area lives in its own file and registers its `describe` block given a {@link Kit}; fixtures come from
 * `factory.ts`. Every time is an explicit instant; nothing waits on the wall clock except the wake-up cases,
 * which await the listener's call with a deadline.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { AnyDriver } from "./factory.ts";
import { adminArea } from "./admin.ts";
import { breakersArea } from "./breakers.ts";
import { claimArea } from "./claim.ts";
import { clusterArea, topicsArea } from "./cluster.ts";
import { errorsArea } from "./errors.ts";
import { finalizeAndClaimArea } from "./finalize-and-claim.ts";
import { finalizeArea } from "./finalize.ts";
import { insertArea } from "./insert.ts";
import { leaseArea } from "./lease.ts";
import { limitsArea } from "./limits.ts";
import { listenArea } from "./listen.ts";
import { migrateArea } from "./migrate.ts";
import { periodicArea } from "./periodic.ts";
import { readArea } from "./read.ts";
import { sweepArea } from "./sweep.ts";

/** One test's own database, opened by a dialect's test file. */
export interface KitDatabase {
  /** A driver on the database, migrated unless opened with `migrate: false`. */
  driver: AnyDriver;
  /** Opens another driver on the same database, with its own connection (another process's view); closed by `cleanup`. */
  openPeer(): Promise<AnyDriver>;
  /**
   * Runs `fn` with the dialect's native handle of an open transaction of the application's own connection
   * (a bun:sqlite Database inside `db.transaction`, a postgres.js `sql.begin` transaction), then commits or
   * rolls back. With SQLite, `fn` must do its writes before its first `await` (bun:sqlite is synchronous).
   */
  transaction<T>(fn: (tx: unknown) => Promise<T>, outcome: "commit" | "rollback"): Promise<T>;
  /** Closes every driver and connection and removes the database. */
  cleanup(): Promise<void>;
}

/** Opens a fresh database for one test; `migrate: false` leaves it as a new, empty database. */
export type OpenKitDatabase = (options: { migrate: boolean }) => Promise<KitDatabase>;

/** What each area is given: its way to register cases, and to open the running case's database. */
export interface Kit {
  /** Opens a fresh database (migrated unless `migrate: false`) for the running case; cleaned up after it. */
  open(options?: { migrate?: boolean }): Promise<KitDatabase>;
  /**
   * Registers a case. Areas use this instead of bun's `test`, so a case a dialect is known to fail runs as
   * `test.failing` there (see {@link DriverKitOptions.knownFailures}). Case titles are unique across the kit.
   */
  test(title: string, fn: () => Promise<void>): void;
}

/** Options of {@link runDriverKit}. `{}` means: every case must pass. */
export interface DriverKitOptions {
  /**
   * Cases this dialect's driver is known to fail, by case title, each with the reason (a finding to fix in the
   * driver, not in the kit). They run inverted (`test.failing`): once the driver is fixed the case passes, the
   * inverted test fails, and the entry must go. An entry naming no case fails the run too.
   */
  knownFailures?: Record<string, string>;
}

/** Every area of the kit, in the order of the `Driver` interface. */
const AREAS: ReadonlyArray<(kit: Kit) => void> = [
  migrateArea,
  insertArea,
  claimArea,
  finalizeArea,
  finalizeAndClaimArea,
  leaseArea,
  sweepArea,
  readArea,
  adminArea,
  periodicArea,
  clusterArea,
  limitsArea,
  breakersArea,
  topicsArea,
  listenArea,
  errorsArea,
];

/**
 * Registers the whole kit for one dialect under `driver kit: <name>`. `open` gives each test a fresh database
 * of its own; the kit cleans it up after the test, whatever the test's result.
 * @example runDriverKit("sqlite", async ({ migrate }) => { ... return { driver, openPeer, transaction, cleanup }; });
 */
export function runDriverKit(name: string, open: OpenKitDatabase, options: DriverKitOptions = {}): void {
  const known = new Map(Object.entries(options.knownFailures ?? {}));
  const titles = new Set<string>();
  describe(`driver kit: ${name}`, () => {
    const opened: KitDatabase[] = [];
    afterEach(async () => {
      for (const db of opened.splice(0)) await db.cleanup();
    });
    const kit: Kit = {
      async open(options = {}) {
        const db = await open({ migrate: options.migrate ?? true });
        opened.push(db);
        return db;
      },
      test(title, fn) {
        if (titles.has(title)) throw new Error(`kit: two cases are titled ${JSON.stringify(title)}`);
        titles.add(title);
        const reason = known.get(title);
        if (reason === undefined) test(title, fn);
        else test.failing(`${title} [known failure: ${reason}]`, fn);
      },
    };
    for (const area of AREAS) area(kit);
    test("every known failure names a kit case", () => {
      expect([...known.keys()].filter((title) => !titles.has(title))).toEqual([]);
    });
  });
}

