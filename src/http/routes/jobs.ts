import * as v from "valibot";
import { validate } from "../body.ts";
import { API_ACTOR, type ControlPlane } from "../control.ts";
import { jsonResponse } from "../errors.ts";
import { HTTP_API_DEFAULTS } from "../../core/defaults.ts";
import type { ApiRequest, Route } from "../router.ts";
import { JOB_CANCEL, JOB_INSERT, JOB_LIST_QUERY } from "../schemas.ts";
import { historyJson, jobJson, runJson, stepJson, type JobDetailResponse, type JobListResponse } from "../wire.ts";

const EVENT_NAME = v.pipe(v.string(), v.minLength(1, "expected an event name"), v.maxLength(200, "expected at most 200 characters"));

/** `/api/v1/jobs…`: list, inspect, enqueue, cancel, retry, emit. A job id may be given in full or by a prefix of 8+ characters. */
export function jobRoutes(control: ControlPlane): Route[] {
  const jobId = (req: ApiRequest) => control.resolveJobId(req.params.id!);
  const jobBody = async (id: string, status = 200) => jsonResponse({ job: jobJson(await control.findJob(id)) }, status);
  return [
    {
      method: "GET",
      pattern: "/api/v1/jobs",
      async handler(req) {
        const query = validate(JOB_LIST_QUERY, Object.fromEntries(req.url.searchParams), "query");
        const limit = query.limit ?? HTTP_API_DEFAULTS.listLimit;
        // One more than asked tells whether an older page exists without a second read.
        const jobs = await control.listJobs({ ...query, limit: limit + 1 });
        const page = jobs.slice(0, limit);
        return jsonResponse({ jobs: page.map(jobJson), next_before: jobs.length > limit ? page.at(-1)!.id : null } satisfies JobListResponse);
      },
    },
    {
      method: "GET",
      pattern: "/api/v1/jobs/:id",
      async handler(req) {
        const id = await jobId(req);
        const [job, runs, steps, history] = await Promise.all([control.findJob(id), control.listRuns(id), control.listSteps(id), control.listHistory(id)]);
        return jsonResponse({ job: jobJson(job), runs: runs.map(runJson), steps: steps.map(stepJson), history: history.map(historyJson) } satisfies JobDetailResponse);
      },
    },
    {
      method: "POST",
      pattern: "/api/v1/jobs",
      async handler(req) {
        const { kind, args, options } = validate(JOB_INSERT, await req.body(), "body");
        return jobBody(await control.insert(kind, args, { ...options, actor: API_ACTOR }), 201);
      },
    },
    {
      method: "POST",
      pattern: "/api/v1/jobs/:id/cancel",
      async handler(req) {
        const { cascade } = validate(JOB_CANCEL, await req.body(), "body");
        return jsonResponse({ job: jobJson(await control.cancelJob(await jobId(req), { cascade, actor: API_ACTOR })) });
      },
    },
    {
      method: "POST",
      pattern: "/api/v1/jobs/:id/retry",
      async handler(req) {
        return jsonResponse({ job: jobJson(await control.retryJob(await jobId(req), { actor: API_ACTOR })) });
      },
    },
    {
      method: "POST",
      pattern: "/api/v1/jobs/:id/events/:name",
      async handler(req) {
        const name = validate(EVENT_NAME, req.params.name, "path");
        const id = await jobId(req);
        await control.emit(id, name, (await req.body()) ?? null, { actor: API_ACTOR });
        return jsonResponse({ job_id: id, name, emitted: true }, 202);
      },
    },
  ];
}
