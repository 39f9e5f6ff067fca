import { PeriodicNotFoundError } from "../../core/errors.ts";
import { validate } from "../body.ts";
import { API_ACTOR, type ControlPlane } from "../control.ts";
import { jsonResponse } from "../errors.ts";
import type { ApiRequest, Route } from "../router.ts";
import { lastFires } from "../schedule-fires.ts";
import { SCHEDULE_UPSERT } from "../schemas.ts";
import { scheduleJson } from "../wire.ts";

/** Every schedule with its last fire, by slug. */
export async function schedulesJson(control: ControlPlane) {
  const periodics = await control.listPeriodics();
  const fires = await lastFires(control, periodics);
  return periodics.map((p) => scheduleJson(p, fires.get(p.slug) ?? null));
}

/** `/api/v1/schedules…`: list, create or update, pause, resume, trigger, delete. */
export function scheduleRoutes(control: ControlPlane): Route[] {
  const one = async (slug: string, status = 200) => {
    const periodic = await control.findPeriodic(slug);
    const fires = await lastFires(control, [periodic]);
    return jsonResponse({ schedule: scheduleJson(periodic, fires.get(slug) ?? null) }, status);
  };
  const setActive = (active: boolean) => async (req: ApiRequest) => {
    await control.setPeriodicActive(req.params.slug!, active);
    return one(req.params.slug!);
  };
  return [
    {
      method: "GET",
      pattern: "/api/v1/schedules",
      async handler() {
        return jsonResponse({ schedules: await schedulesJson(control) });
      },
    },
    {
      method: "POST",
      pattern: "/api/v1/schedules",
      async handler(req) {
        const spec = validate(SCHEDULE_UPSERT, await req.body(), "body");
        const existed = await control.findPeriodic(spec.slug).then(
          () => true,
          (error) => {
            if (error instanceof PeriodicNotFoundError) return false;
            throw error;
          },
        );
        await control.upsertPeriodic(spec);
        return one(spec.slug, existed ? 200 : 201);
      },
    },
    { method: "POST", pattern: "/api/v1/schedules/:slug/pause", handler: setActive(false) },
    { method: "POST", pattern: "/api/v1/schedules/:slug/resume", handler: setActive(true) },
    {
      method: "POST",
      pattern: "/api/v1/schedules/:slug/trigger",
      async handler(req) {
        const id = await control.triggerPeriodic(req.params.slug!, { actor: API_ACTOR });
        return jsonResponse({ slug: req.params.slug, job_id: id }, 201);
      },
    },
    {
      method: "DELETE",
      pattern: "/api/v1/schedules/:slug",
      async handler(req) {
        await control.deletePeriodic(req.params.slug!);
        return jsonResponse({ slug: req.params.slug, deleted: true });
      },
    },
  ];
}
