import { describe, expect } from "bun:test";
import type { Kit } from "./harness.ts";

/** schemaMigrate, schemaVersion and dbCheck. */
export function migrateArea(kit: Kit): void {
  describe("schemaMigrate, schemaVersion, dbCheck", () => {
    kit.test("a new database is at version 0; schemaMigrate applies every version in order and makes it current", async () => {
      const { driver } = await kit.open({ migrate: false });
      const fresh = await driver.schemaVersion();
      expect(fresh.current).toBe(0);
      expect(fresh.latest).toBeGreaterThanOrEqual(1);
      const versions = Array.from({ length: fresh.latest }, (_, i) => i + 1);
      expect(await driver.schemaMigrate()).toEqual({ applied: versions });
      expect(await driver.schemaVersion()).toEqual({ current: fresh.latest, latest: fresh.latest });
    });

    kit.test("schemaMigrate is idempotent: a migrated database gets nothing applied and keeps its version", async () => {
      const { driver } = await kit.open();
      const version = await driver.schemaVersion();
      expect(version.current).toBe(version.latest);
      expect(await driver.schemaMigrate()).toEqual({ applied: [] });
      expect(await driver.schemaMigrate()).toEqual({ applied: [] });
      expect(await driver.schemaVersion()).toEqual(version);
    });

    kit.test("two drivers migrating one new database at once apply each version exactly once", async () => {
      const { driver, openPeer } = await kit.open({ migrate: false });
      const peer = await openPeer();
      const [mine, theirs] = await Promise.all([driver.schemaMigrate(), peer.schemaMigrate()]);
      const { latest } = await driver.schemaVersion();
      expect([...mine.applied, ...theirs.applied].sort((a, b) => a - b)).toEqual(Array.from({ length: latest }, (_, i) => i + 1));
      expect(await peer.schemaVersion()).toEqual({ current: latest, latest });
    });

    kit.test("dbCheck resolves on a healthy migrated database, with and without the integrity check", async () => {
      const { driver } = await kit.open();
      await driver.dbCheck({});
      await driver.dbCheck({ integrity: true });
    });
  });
}
