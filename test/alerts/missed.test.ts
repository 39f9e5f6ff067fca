import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { JobRecord } from "flywheel";
import { lateStart, unfiredFire } from "../../src/alerts/index.ts";
import { tempDir } from "../support/helpers.ts";
import { describeMissedFires, GRACE, HOUR, T0 } from "./missed-cases.ts";

describeMissedFires("sqlite", async () => {
  const dir = await tempDir();
  return { url: `sqlite:${join(dir.path, "jobs.db")}`, remove: () => dir.remove() };
});

describe("the rules", () => {
  const periodic = { slug: "p", isActive: true, nextRunAt: new Date(T0.getTime()), lastError: null } as never;
  const job = (over: Partial<JobRecord> = {}): JobRecord =>
    ({
      id: "j1",
      state: "available",
      attempt: 0,
      scheduledAt: T0,
      createdAt: T0,
      metadata: { periodic: "p", fire_at: T0.toISOString() },
      ...over,
    }) as JobRecord;
  const at = (ms: number) => new Date(T0.getTime() + ms);

  test("a fire is unfired-missed only once its grace has fully passed", () => {
    expect(unfiredFire(periodic, at(GRACE), GRACE)).toBeNull();
    expect(unfiredFire(periodic, at(GRACE + 1), GRACE)).toMatchObject({ slug: "p", reason: "not_fired", fireAt: T0, job: null });
  });

  test("a job's deadline is grace after its fire, or after its scheduled time when that is later", () => {
    expect(lateStart(job(), GRACE, null, at(GRACE))).toBeNull();
    expect(lateStart(job(), GRACE, null, at(GRACE + 1))).toMatchObject({ reason: "not_started", fireAt: T0 });
    expect(lateStart(job(), GRACE, at(GRACE + 1), at(GRACE + 1))).toMatchObject({ reason: "started_late", startedAt: at(GRACE + 1) });
    // A fire delayed on purpose (a jittered one) counts from when it was meant to run.
    expect(lateStart(job({ scheduledAt: at(30_000) }), GRACE, null, at(GRACE + 1))).toBeNull();
    // A job no scheduled fire made (a manual trigger) has no fire time to miss.
    expect(lateStart(job({ metadata: { periodic: "p" } }), GRACE, null, at(HOUR))).toBeNull();
  });
});
